// fsched-sim: replays a serverless trace through the master's own scheduling
// code (queue order, placement, predictor, dispatch) on virtual time, once per
// queue order and target utilisation, and prints what each achieved.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/proto_time.h"
#include "tools/fsched-sim/report.h"
#include "tools/fsched-sim/simulator.h"
#include "tools/workload/azure_trace.h"
#include "tools/workload/workload.h"

ABSL_FLAG(std::string, config, "",
          "YAML configuration (scheduler.* and simulator.* are read; defaults are embedded)");
ABSL_FLAG(std::string, trace, "",
          "an Azure Functions 2019 directory (invocations.csv + durations.csv) or a 2021 CSV file");
ABSL_FLAG(std::string, mmc, "",
          "instead of a trace: RATE,MEAN_S,COUNT for Poisson arrivals with exponential durations");
ABSL_FLAG(std::string, cache_mix, "",
          "instead of a trace: RATE,COUNT Poisson arrivals of four cache-sensitive synthetic "
          "functions (docs/cache.md), for comparing cache partitioning");
ABSL_FLAG(std::string, partitioning, "",
          "cache partitionings to compare: none, equal, predicted (default with --cache_mix: "
          "all three; otherwise no cache model)");
ABSL_FLAG(uint32_t, cache_ways, 20, "LLC ways per simulated worker (with --partitioning)");
ABSL_FLAG(std::string, orders, "fifo,srtf,aging-srtf,srtf-v5", "queue orders to compare");
ABSL_FLAG(std::string, placement, "", "placement policy; overrides scheduler.placement");
ABSL_FLAG(std::string, utilization, "",
          "target utilisations, e.g. 0.5,0.7,0.9 (arrival times are scaled); empty = as traced");
ABSL_FLAG(uint32_t, workers, 0, "simulated workers; overrides simulator.workers");
ABSL_FLAG(uint32_t, slots, 0, "slots per worker; overrides simulator.slots");
ABSL_FLAG(bool, oracle, false, "order by true durations instead of the predictor's");
ABSL_FLAG(bool, zero_cold_start, false, "no cold-start cost (for checks against queueing theory)");
ABSL_FLAG(uint64_t, seed, 1, "seed for arrival placement inside a minute and duration draws");
ABSL_FLAG(bool, json, false, "print JSON instead of the table");

namespace {

using namespace fsched;

int Fail(const std::string& reason) {
  std::cerr << "fsched-sim: " << reason << "\n";
  return 2;
}

absl::StatusOr<std::vector<double>> ParseList(const std::string& text, const char* flag) {
  std::vector<double> values;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    double v = 0;
    if (!absl::SimpleAtod(item, &v) || !(v > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": '", std::string(item), "' is not a positive number"));
    }
    values.push_back(v);
  }
  return values;
}

// The loaded workload: a trace, M/M/c when `mmc` is set, or the cache mix.
struct Workload {
  std::string name;
  workload::LoadedTrace trace;
  std::vector<double> mmc;        // rate, mean, count
  std::vector<double> cache_mix;  // rate, count
  double offered_load = 0;

  std::unique_ptr<workload::ArrivalSource> Source(double time_scale, uint64_t seed) const {
    if (!cache_mix.empty()) {
      return std::make_unique<sim::CacheMixSource>(sim::SyntheticCacheMix(),
                                                   cache_mix[0] / time_scale,
                                                   static_cast<uint64_t>(cache_mix[1]), seed);
    }
    if (!mmc.empty()) {
      return std::make_unique<workload::PoissonSource>(mmc[0] / time_scale, mmc[1],
                                                       static_cast<uint64_t>(mmc[2]), seed);
    }
    return trace.Source(time_scale, seed);
  }
};

absl::StatusOr<Workload> LoadWorkload(const std::string& trace, const std::string& mmc,
                                      const std::string& cache_mix) {
  Workload w;
  if (!cache_mix.empty()) {
    auto values = ParseList(cache_mix, "cache_mix");
    if (!values.ok()) return values.status();
    if (values->size() != 2) {
      return absl::InvalidArgumentError("--cache_mix wants RATE,COUNT, e.g. 40,20000");
    }
    w.cache_mix = *values;
    w.name = absl::StrCat("cache mix rate ", w.cache_mix[0]);
    w.offered_load =
        sim::CacheMixSource(sim::SyntheticCacheMix(), w.cache_mix[0], 0, 0).offered_load();
    return w;
  }
  if (!mmc.empty()) {
    auto values = ParseList(mmc, "mmc");
    if (!values.ok()) return values.status();
    if (values->size() != 3) {
      return absl::InvalidArgumentError("--mmc wants RATE,MEAN_S,COUNT, e.g. 3,1,500000");
    }
    w.mmc = *values;
    w.name = absl::StrCat("M/M/c rate ", w.mmc[0], " mean ", w.mmc[1], "s");
    w.offered_load = w.mmc[0] * w.mmc[1];
    return w;
  }
  if (trace.empty()) return absl::InvalidArgumentError("give --trace (or --mmc); see --help");
  auto loaded = workload::LoadTrace(trace);
  if (!loaded.ok()) return loaded.status();
  w.trace = *std::move(loaded);
  for (const std::string& warning : w.trace.warnings)
    std::cerr << "fsched-sim: " << warning << "\n";
  w.name = w.trace.name;
  w.offered_load = w.trace.offered_load;
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fsched-sim --trace DIR_OR_CSV [--utilization 0.5,0.7,0.9] [--orders fifo,aging-srtf] ...\n"
      "Replays a trace through fsched's scheduler on virtual time and compares queue orders.");
  absl::ParseCommandLine(argc, argv);
  DisableLockCycleDetection();

  // Flags are overrides of config keys, checked like the file's values.
  std::vector<ConfigOverride> overrides;
  if (auto v = absl::GetFlag(FLAGS_workers); v != 0) {
    overrides.push_back({"simulator.workers", absl::StrCat(v)});
  }
  if (auto v = absl::GetFlag(FLAGS_slots); v != 0) {
    overrides.push_back({"simulator.slots", absl::StrCat(v)});
  }
  if (auto v = absl::GetFlag(FLAGS_placement); !v.empty()) {
    overrides.push_back({"scheduler.placement", v});
  }
  const std::string path = absl::GetFlag(FLAGS_config);
  absl::StatusOr<Config> loaded =
      path.empty() ? ParseConfig("", overrides) : LoadConfigFile(path, overrides);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const Config& config = *loaded;
  auto utilisations = ParseList(absl::GetFlag(FLAGS_utilization), "utilization");
  if (!utilisations.ok()) return Fail(std::string(utilisations.status().message()));
  if (utilisations->empty()) utilisations->push_back(0);
  for (double u : *utilisations) {
    if (u >= 1.5) return Fail(absl::StrCat("--utilization ", u, " is not a fraction of capacity"));
  }
  const std::vector<std::string> orders =
      absl::StrSplit(absl::GetFlag(FLAGS_orders), ',', absl::SkipWhitespace());
  if (orders.empty()) return Fail("--orders is empty");

  auto workload = LoadWorkload(absl::GetFlag(FLAGS_trace), absl::GetFlag(FLAGS_mmc),
                               absl::GetFlag(FLAGS_cache_mix));
  if (!workload.ok()) return Fail(std::string(workload.status().message()));

  sim::SimulationOptions options;
  const SimulatorConfig& simulator = config.simulator();
  const SchedulerConfig& scheduler = config.scheduler();
  options.workers = simulator.workers();
  options.slots = simulator.slots();
  options.cold_start_seconds =
      absl::GetFlag(FLAGS_zero_cold_start) ? 0 : ToSeconds(simulator.cold_start());
  options.keep_alive_seconds = ToSeconds(simulator.keep_alive());
  options.placement = scheduler.placement();
  options.order_options.aging_rate = scheduler.aging_rate();
  options.order_options.max_wait = FromProto(scheduler.max_wait());
  options.order_options.min_wait = FromProto(scheduler.min_wait());
  options.order_options.fifo_wait_factor = scheduler.fifo_wait_factor();
  options.order_options.slowdown_bound = scheduler.slowdown_bound();
  options.predictor.default_estimate = FromProto(scheduler.default_estimate());
  options.predictor.history = scheduler.predictor_history();
  options.oracle = absl::GetFlag(FLAGS_oracle);
  options.seed = absl::GetFlag(FLAGS_seed);
  const uint32_t capacity = options.workers * options.slots;
  std::vector<std::string> partitionings =
      absl::StrSplit(absl::GetFlag(FLAGS_partitioning), ',', absl::SkipWhitespace());
  if (partitionings.empty()) {
    partitionings = workload->cache_mix.empty()
                        ? std::vector<std::string>{"off"}
                        : std::vector<std::string>{"none", "equal", "predicted"};
  }
  for (const std::string& p : partitionings) {
    if (absl::Status s = sim::ValidatePartitioning(p); !s.ok())
      return Fail(std::string(s.message()));
    if (p != "off" && workload->cache_mix.empty()) {
      return Fail("--partitioning needs the cache curves of --cache_mix");
    }
  }
  options.cache.ways = absl::GetFlag(FLAGS_cache_ways);
  if (!workload->cache_mix.empty()) options.cache.curves = sim::SyntheticCacheMix();

  std::vector<sim::RunRecord> runs;
  uint64_t simulated = 0;
  double wall = 0;
  for (double u : *utilisations) {
    const double scale = u > 0 ? workload::TimeScaleFor(workload->offered_load, capacity, u) : 1;
    for (const std::string& partitioning : partitionings) {
      options.cache.partitioning = partitioning;
      for (const std::string& order : orders) {
        options.queue_order = order;
        auto source = workload->Source(scale, options.seed);
        auto result = sim::Simulate(options, *source);
        if (!result.ok()) return Fail(std::string(result.status().message()));
        simulated += result->invocations;
        wall += result->wall_seconds;
        runs.push_back({workload->name, u, scale, options.workers, options.slots, options.oracle,
                        options.cold_start_seconds, *std::move(result)});
      }
    }
  }

  if (absl::GetFlag(FLAGS_json)) {
    std::cout << sim::FormatJson(runs);
  } else {
    std::cout << absl::StrFormat(
        "fsched-sim: %s, %d workers x %d slots, placement %s, cold start %.3gs, keep-alive %.3gs, "
        "%s\n",
        workload->name, options.workers, options.slots, options.placement,
        options.cold_start_seconds, options.keep_alive_seconds,
        options.oracle ? "oracle durations" : "predicted durations");
    std::cout << sim::FormatTable(runs);
  }
  std::cerr << absl::StrFormat(
      "fsched-sim: simulated %d invocations in %.2f s of wall time: %.0f invocations/s\n",
      simulated, wall, wall > 0 ? simulated / wall : 0);
  return 0;
}
