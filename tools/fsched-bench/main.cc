// fsched-bench: drives an fsched master and records every invocation. One
// workload per run: open-loop Poisson levels (--rates), a replayed Azure trace
// (--trace), sequential cycles over functions (--cycles), or closed-loop
// stages of concurrent users (--concurrency, the default). Writes a
// per-invocation CSV and summaries; Ctrl-C stops and still writes them.
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/client_flags.h"
#include "common/daemon.h"
#include "common/flag_file.h"
#include "common/rpc.h"
#include "fsched/v1/cluster.grpc.pb.h"
#include "tools/fsched-bench/arrivals.h"
#include "tools/fsched-bench/driver.h"
#include "tools/fsched-bench/http_targets.h"
#include "tools/fsched-bench/plan.h"
#include "tools/fsched-bench/results.h"
#include "tools/workload/workload.h"

ABSL_FLAG(std::string, config, "",
          "experiment file: YAML whose keys are these flags (e.g. rates: [2, 5, 15]); flags on "
          "the command line override it");
ABSL_FLAG(std::string, master, "127.0.0.1:50051", "master address host:port");
ABSL_FLAG(std::string, entry, "master",
          "where calls enter: master (Controller.Invoke) or worker (Worker.Invoke, routed by "
          "the worker: seed 001's entry at an edge node)");
ABSL_FLAG(std::vector<std::string>, entries, {},
          "entry addresses host:port, taken in turn per call; empty = --master");
ABSL_FLAG(std::string, protocol, "grpc",
          "how calls are sent: grpc, or http (POST /function/{name} to the masters' HTTP "
          "entries, whose addresses --entries gives; docs/http.md)");
ABSL_FLAG(int, http_connections, 16,
          "http, open loop: connections kept at most (the entry holds one of its http.threads "
          "per connection); calls beyond them wait in the driver for one to free");
ABSL_FLAG(absl::Duration, deadline, absl::ZeroDuration(),
          "report the share of calls that fail or answer later than this (0 = not reported)");
ABSL_FLAG(std::string, function, "",
          "function(s) to invoke, comma-separated (required); several are mixed: chosen at "
          "random per arrival (open loop), in turn per user (closed loop), in order (cycles), "
          "trace function k -> k-th modulo their number (replay)");
ABSL_FLAG(std::string, payload, "",
          "payload for each call: {i} index, {function} name, {duration_s}/{duration_ms} the "
          "replayed trace's duration");
ABSL_FLAG(std::vector<std::string>, args, {}, "extra arguments for each call (same templates)");
ABSL_FLAG(std::string, architecture, "",
          "ask for a routing architecture: centralized, federated, decentralized or dynamic "
          "(empty = the entry node's own)");
ABSL_FLAG(std::string, out, "", "results directory (CSV + summaries); empty = print only");
ABSL_FLAG(std::string, label, "", "label written into summary.json (default: the workload)");
ABSL_FLAG(absl::Duration, call_timeout, absl::Minutes(20), "client deadline of each call");

ABSL_FLAG(std::string, concurrency, "4",
          "closed loop: concurrent users per stage, e.g. 2,5,10,20,40 (one stage each)");
ABSL_FLAG(int, requests, 0,
          "closed loop: calls per stage after the warm-up (default 100 unless --stage_duration)");
ABSL_FLAG(absl::Duration, stage_duration, absl::ZeroDuration(),
          "closed loop: length of each stage after the warm-up (instead of --requests)");
ABSL_FLAG(absl::Duration, warmup, absl::ZeroDuration(),
          "closed loop: calls sent this early in a stage are run and recorded, not summarised");

ABSL_FLAG(std::string, rates, "",
          "open loop: Poisson arrival rates in requests/s, one level each, e.g. 2,5,15");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(30),
          "open loop: length of each level; replay: window of the (scaled) trace to send");
ABSL_FLAG(uint64_t, seed, 1, "open loop and replay: seed of the schedule");
ABSL_FLAG(absl::Duration, max_lag, absl::Milliseconds(10),
          "open loop: the driver fell behind (exit 1) when the 99th percentile of its send lag "
          "exceeds this");

ABSL_FLAG(std::string, trace, "",
          "replay: Azure Functions trace, a 2019 directory (invocations.csv + durations.csv) or "
          "a 2021 CSV file");
ABSL_FLAG(double, time_scale, 1.0,
          "replay: multiply the trace's arrival times by this (0.1 = ten times the rate)");
ABSL_FLAG(double, utilization, 0,
          "replay: choose --time_scale so the trace's offered load fills this share of the "
          "cluster's ready slots (asked from the master), e.g. 0.7");
ABSL_FLAG(int, max_calls, 100000, "replay: send at most this many calls");

ABSL_FLAG(int, cycles, 0, "cycles: rounds of one call to each function in order, one at a time");

namespace {

using namespace fsched;

int Usage(const std::string& reason) {
  std::fprintf(stderr, "fsched-bench: %s\n", reason.c_str());
  return 2;
}

absl::StatusOr<v1::Architecture> ParseArchitecture(std::string text) {
  if (text.empty()) return v1::ARCHITECTURE_UNSPECIFIED;
  v1::Architecture a;
  if (!v1::Architecture_Parse("ARCHITECTURE_" + absl::AsciiStrToUpper(text), &a) ||
      a == v1::ARCHITECTURE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "architecture '", text, "' is not centralized, federated, decentralized or dynamic"));
  }
  return a;
}

// Slots of the cluster's ready workers, for --utilization.
absl::StatusOr<uint32_t> ReadySlots(const std::string& master) {
  auto cluster = v1::Cluster::NewStub(MakeChannel(master));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::ListWorkersResponse workers;
  if (grpc::Status s = cluster->ListWorkers(&ctx, v1::ListWorkersRequest(), &workers); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "--utilization needs the cluster's slots: ListWorkers failed: ", s.error_message()));
  }
  uint32_t slots = 0;
  for (const v1::WorkerInfo& w : workers.workers()) {
    if (w.state() == v1::WORKER_STATE_READY) slots += w.capacity().slots();
  }
  if (slots == 0) {
    return absl::FailedPreconditionError("--utilization: the cluster has no ready worker");
  }
  return slots;
}

// The open-loop levels: Poisson at each rate, or one replayed trace window.
absl::StatusOr<std::vector<bench::LevelPlan>> OpenLevels(uint32_t functions) {
  std::vector<bench::LevelPlan> levels;
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (const std::string path = absl::GetFlag(FLAGS_trace); !path.empty()) {
    double scale = absl::GetFlag(FLAGS_time_scale);
    const double utilization = absl::GetFlag(FLAGS_utilization);
    if (!(scale > 0) || !std::isfinite(scale)) {
      return absl::InvalidArgumentError("--time_scale must be a positive number");
    }
    if (utilization != 0 && (!(utilization > 0) || !std::isfinite(utilization))) {
      return absl::InvalidArgumentError("--utilization must be a positive share, e.g. 0.7");
    }
    if (utilization > 0 && scale != 1.0) {
      return absl::InvalidArgumentError("give --time_scale or --utilization, not both");
    }
    if (absl::GetFlag(FLAGS_max_calls) < 1) {
      return absl::InvalidArgumentError("--max_calls must be at least 1");
    }
    auto trace = workload::LoadTrace(path);
    if (!trace.ok()) return trace.status();
    for (const std::string& w : trace->warnings) std::cerr << "fsched-bench: " << w << "\n";
    if (utilization > 0) {
      auto slots = ReadySlots(absl::GetFlag(FLAGS_master));
      if (!slots.ok()) return slots.status();
      scale = workload::TimeScaleFor(trace->offered_load, *slots, utilization);
      std::cout << absl::StrFormat(
          "time scale %.4g: the trace offers %.3g busy slot-seconds per second; %u ready slots "
          "at %.0f%%\n",
          scale, trace->offered_load, *slots, utilization * 100);
    }
    auto source = trace->Source(scale, seed);
    auto level =
        bench::TraceLevel(*source, absl::StrFormat("trace %s x%g", trace->name, scale), duration,
                          static_cast<size_t>(absl::GetFlag(FLAGS_max_calls)), functions);
    if (!level.ok()) return level.status();
    levels.push_back(*std::move(level));
    return levels;
  }
  auto rates = bench::ParseRates(absl::GetFlag(FLAGS_rates));
  if (!rates.ok())
    return absl::InvalidArgumentError(absl::StrCat("--rates: ", rates.status().message()));
  for (size_t l = 0; l < rates->size(); ++l) {
    auto level = bench::PoissonLevel((*rates)[l], duration, seed + l, functions);
    if (!level.ok())
      return absl::InvalidArgumentError(absl::StrCat("--duration: ", level.status().message()));
    levels.push_back(*std::move(level));
  }
  return levels;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fsched-bench --function F[,G...] [WORKLOAD] [--out DIR]\n"
      "  closed loop (default): --concurrency 2,5,10 [--requests N | --stage_duration D] "
      "[--warmup W]\n"
      "  open loop:             --rates 2,5,15 --duration 30s [--seed S]\n"
      "  trace replay:          --trace data/azure2019-10fn-day --time_scale 0.01 --duration 60s\n"
      "  cycles:                --cycles 100\n"
      "  over HTTP:             --protocol http --entries 127.0.0.1:8080 (any workload)\n"
      "Drives an fsched master and writes invocations.csv, summary.txt, run-all-out.txt and "
      "summary.json.");
  // The experiment file first, so the command line overrides it.
  if (const std::string config = FindConfigArgument(argc, argv); !config.empty()) {
    if (absl::Status applied = ApplyFlagFile(config); !applied.ok()) {
      return Usage(std::string(applied.message()));
    }
  }
  absl::ParseCommandLine(argc, argv);
  DisableLockCycleDetection();
  if (absl::Status flags = ApplyClientFlags(); !flags.ok()) {
    return Usage(std::string(flags.message()));
  }

  bench::RequestTemplate request;
  for (absl::string_view f :
       absl::StrSplit(absl::GetFlag(FLAGS_function), ',', absl::SkipWhitespace())) {
    request.functions.emplace_back(absl::StripAsciiWhitespace(f));
  }
  if (request.functions.empty()) return Usage("--function is required");
  request.payload = absl::GetFlag(FLAGS_payload);
  request.args = absl::GetFlag(FLAGS_args);
  request.deadline = absl::GetFlag(FLAGS_call_timeout);
  if (request.deadline <= absl::ZeroDuration()) return Usage("--call_timeout must be positive");
  auto architecture = ParseArchitecture(absl::GetFlag(FLAGS_architecture));
  if (!architecture.ok())
    return Usage(absl::StrCat("--architecture: ", architecture.status().message()));
  request.architecture = *architecture;

  const bool open_loop = !absl::GetFlag(FLAGS_rates).empty();
  const bool replay = !absl::GetFlag(FLAGS_trace).empty();
  const int cycles = absl::GetFlag(FLAGS_cycles);
  if (open_loop + replay + (cycles != 0) > 1) {
    return Usage("choose one workload: --rates, --trace or --cycles (or none for closed loop)");
  }
  if (cycles < 0) return Usage("--cycles must be positive");

  // Everything is validated before the first call goes out.
  std::vector<bench::LevelPlan> open_levels;
  std::vector<int> stages;
  bench::StageOptions stage;
  std::string workload_name;
  if (open_loop || replay) {
    auto levels = OpenLevels(static_cast<uint32_t>(request.functions.size()));
    if (!levels.ok()) {
      // The cluster could not be asked (--utilization): not a usage error.
      if (levels.status().code() == absl::StatusCode::kUnavailable ||
          levels.status().code() == absl::StatusCode::kFailedPrecondition) {
        std::fprintf(stderr, "fsched-bench: %s\n", std::string(levels.status().message()).c_str());
        return 1;
      }
      return Usage(std::string(levels.status().message()));
    }
    open_levels = *std::move(levels);
    workload_name = replay ? "replay" : "open-loop";
  } else if (cycles > 0) {
    workload_name = "cycles";
  } else {
    auto users = bench::ParseUsers(absl::GetFlag(FLAGS_concurrency));
    if (!users.ok()) return Usage(absl::StrCat("--concurrency: ", users.status().message()));
    stages = *users;
    stage.requests = absl::GetFlag(FLAGS_requests);
    stage.duration = absl::GetFlag(FLAGS_stage_duration);
    stage.warmup = absl::GetFlag(FLAGS_warmup);
    if (stage.requests < 0) return Usage("--requests must be positive");
    if (stage.duration < absl::ZeroDuration() || stage.warmup < absl::ZeroDuration()) {
      return Usage("--stage_duration and --warmup cannot be negative");
    }
    if (stage.requests > 0 && stage.duration > absl::ZeroDuration()) {
      return Usage("give --requests or --stage_duration, not both");
    }
    if (stage.requests == 0 && stage.duration == absl::ZeroDuration()) stage.requests = 100;
    workload_name = "closed-loop";
  }
  std::string label = absl::GetFlag(FLAGS_label);
  if (label.empty()) label = workload_name;

  std::vector<std::string> entries = absl::GetFlag(FLAGS_entries);
  absl::StatusOr<std::unique_ptr<bench::InvokeTargets>> targets;
  if (const std::string protocol = absl::GetFlag(FLAGS_protocol); protocol == "grpc") {
    if (entries.empty()) entries.push_back(absl::GetFlag(FLAGS_master));
    targets = bench::GrpcTargets(absl::GetFlag(FLAGS_entry), entries);
  } else if (protocol == "http") {
    // --master stays the gRPC address (--utilization asks it for slots).
    if (entries.empty()) {
      return Usage("--protocol http: give the HTTP entries' addresses with --entries");
    }
    if (absl::GetFlag(FLAGS_entry) != "master") {
      return Usage("--protocol http: only masters serve the HTTP entry (--entry master)");
    }
    if (!request.args.empty() || request.architecture != v1::ARCHITECTURE_UNSPECIFIED) {
      return Usage(
          "--protocol http sends the payload only: --args and --architecture need --protocol "
          "grpc");
    }
    auto token = ResolveClientToken();
    if (!token.ok()) return Usage(std::string(token.status().message()));
    targets = bench::HttpTargets({.addresses = entries,
                                  .token = *token,
                                  .max_connections = absl::GetFlag(FLAGS_http_connections)});
  } else {
    return Usage(absl::StrCat("--protocol '", protocol, "' is not grpc or http"));
  }
  if (!targets.ok()) return Usage(std::string(targets.status().message()));
  bench::InstallInterruptHandler();
  if (absl::GetFlag(FLAGS_deadline) < absl::ZeroDuration()) {
    return Usage("--deadline cannot be negative");
  }
  const absl::Duration deadline = absl::GetFlag(FLAGS_deadline);
  bench::Progress progress;
  std::vector<bench::Sample> all;
  bool fell_behind = false;
  const auto print_level = [&](const std::vector<bench::Sample>& samples,
                               const std::string& extra) {
    std::cout << bench::FormatSummary(bench::SummarizeRun(samples, deadline)) << extra
              << std::flush;
  };
  const auto keep = [&](std::vector<bench::Sample> samples) {
    all.insert(all.end(), std::make_move_iterator(samples.begin()),
               std::make_move_iterator(samples.end()));
  };
  int level = 0;
  for (const bench::LevelPlan& plan : open_levels) {
    if (bench::Interrupted()) break;
    bench::OpenLevelReport report;
    auto samples =
        bench::RunOpenLevel(targets->get(), request, plan, level++, static_cast<int>(all.size()),
                            absl::GetFlag(FLAGS_max_lag), &progress, &report);
    int sent = 0;
    for (const auto& s : samples) sent += s.sent;
    std::string extra = absl::StrFormat(
        "  sent %d at %.2f req/s, schedule %.2f req/s (%+.2f%%; nominal %.6g); worst send lag "
        "%.3f ms, p99 %.3f ms; %d sends more than %s late\n",
        sent, report.achieved_rps, report.scheduled_rps,
        report.scheduled_rps > 0 ? (report.achieved_rps / report.scheduled_rps - 1) * 100 : 0.0,
        plan.offered_rps, absl::ToDoubleMilliseconds(report.worst_lag),
        absl::ToDoubleMilliseconds(report.p99_lag), report.late,
        absl::FormatDuration(absl::GetFlag(FLAGS_max_lag)));
    // Open loop means open loop: say so when the driver could not keep the schedule.
    if (report.p99_lag > absl::GetFlag(FLAGS_max_lag)) {
      fell_behind = true;
      absl::StrAppend(&extra,
                      "  WARNING: the driver fell behind its schedule; results at this level "
                      "understate the offered load\n");
    }
    print_level(samples, extra);
    keep(std::move(samples));
  }
  for (int users : stages) {
    if (bench::Interrupted()) break;
    stage.users = users;
    auto samples = bench::RunClosedStage(targets->get(), request, stage, level++,
                                         static_cast<int>(all.size()), &progress);
    print_level(samples, "");
    keep(std::move(samples));
  }
  if (cycles > 0) {
    auto samples = bench::RunCycles(targets->get(), request, cycles, level++,
                                    static_cast<int>(all.size()), &progress);
    print_level(samples, "");
    keep(std::move(samples));
  }

  const bool interrupted = bench::Interrupted();
  if (interrupted) std::cout << "interrupted: stopped sending; calls in flight were cancelled\n";
  if (const std::string dir = absl::GetFlag(FLAGS_out); !dir.empty()) {
    const auto groups = bench::SummarizeRun(all, deadline);
    if (absl::Status written = bench::WriteResults(dir, label, interrupted, all, groups);
        !written.ok()) {
      std::cerr << "fsched-bench: " << written.message() << "\n";
      return 1;
    }
    std::cout << "results in " << dir
              << "/ (invocations.csv, summary.txt, run-all-out.txt, summary.json)\n";
  }
  if (interrupted) return 130;
  if (fell_behind) return 1;
  for (const bench::Sample& s : all) {
    if (s.sent && (s.rpc_code != 0 || s.result.outcome() != v1::OUTCOME_OK)) return 1;
  }
  return 0;
}
