#include "tools/fsched-sim/simulator.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>

#include "tools/fsched-sim/report.h"
#include "tools/workload/workload.h"

namespace fsched::sim {

using workload::Azure2019Source;
using workload::LoadAzure2019;
using workload::OfferedLoad;
using workload::PoissonSource;
using workload::ShortNames;
using workload::TimeScaleFor;
namespace {

const std::string kData = std::string(FSCHED_SOURCE_DIR) + "/data";

// Replays a fixed list of arrivals.
class ListSource final : public ArrivalSource {
 public:
  ListSource(std::vector<Arrival> arrivals, size_t functions)
      : arrivals_(std::move(arrivals)), names_(ShortNames(functions)) {}
  bool Next(Arrival* arrival) override {
    if (next_ == arrivals_.size()) return false;
    *arrival = arrivals_[next_++];
    return true;
  }
  const std::vector<std::string>& functions() const override { return names_; }

 private:
  std::vector<Arrival> arrivals_;
  std::vector<std::string> names_;
  size_t next_ = 0;
};

// Mean queueing delay of M/M/c (Erlang C): P(wait) / (c·mu − lambda).
double ErlangCMeanWait(int c, double lambda, double mean_service) {
  const double a = lambda * mean_service;  // offered load in servers
  const double rho = a / c;
  double term = 1, sum = 0;  // a^k / k!
  for (int k = 0; k < c; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  const double tail = term / (1 - rho);  // a^c / c! / (1 − rho)
  const double p_wait = tail / (sum + tail);
  return p_wait / (c / mean_service - lambda);
}

SimulationOptions TheoryOptions(uint32_t workers, uint32_t slots, const std::string& order) {
  SimulationOptions options;
  options.workers = workers;
  options.slots = slots;
  options.cold_start_seconds = 0;
  options.queue_order = order;
  options.oracle = true;
  return options;
}

TEST(SimulatorTest, FifoMatchesErlangC) {
  // Theory: M/M/4, lambda 3/s, mean 1 s (rho 0.75) -> Wq = 0.5094 s.
  const double expected = ErlangCMeanWait(4, 3.0, 1.0);
  ASSERT_NEAR(expected, 0.5094, 1e-3);
  for (auto [workers, slots] : {std::pair{1u, 4u}, std::pair{4u, 1u}, std::pair{2u, 2u}}) {
    PoissonSource source(3.0, 1.0, 400000, 7);
    auto result = Simulate(TheoryOptions(workers, slots, "fifo"), source);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->invocations, 400000u);
    EXPECT_NEAR(result->mean_wait, expected, 0.04 * expected)
        << workers << " workers x " << slots << " slots";
    EXPECT_NEAR(result->mean_response, expected + 1.0, 0.02 * (expected + 1));
    EXPECT_NEAR(result->utilisation, 0.75, 0.01);
    EXPECT_NEAR(result->throughput, 3.0, 0.03);
  }
}

TEST(SimulatorTest, ShortestFirstCutsSlowdownOnHeavyTails) {
  // Heavy-tailed service: 95 % of jobs take 0.1 s, 5 % take 20 s (mean 1.095 s);
  // 4 slots at rho 0.9 build long queues where the order matters.
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> gap(0.9 * 4 / 1.095);
  std::bernoulli_distribution long_job(0.05);
  std::vector<Arrival> arrivals;
  double t = 0;
  for (int i = 0; i < 60000; ++i) {
    t += gap(rng);
    const bool is_long = long_job(rng);
    arrivals.push_back({t, is_long ? 20.0 : 0.1, is_long ? 1u : 0u});
  }
  std::map<std::string, SimulationResult> results;
  for (const std::string order : {"fifo", "srtf", "aging-srtf"}) {
    ListSource source(arrivals, 2);
    SimulationOptions options = TheoryOptions(1, 4, order);
    options.order_options.max_wait = absl::Seconds(60);
    auto result = Simulate(options, source);
    ASSERT_TRUE(result.ok()) << result.status();
    results[order] = *result;
  }
  const double fifo = results["fifo"].mean_slowdown;
  EXPECT_LT(results["srtf"].mean_slowdown, fifo / 2);
  EXPECT_LT(results["aging-srtf"].mean_slowdown, fifo / 2);
}

TEST(SimulatorTest, AgingBoundsTheWaitThatSrtfStarves) {
  // One slot. A 10 s job arrives behind a stream of 1 s jobs that keeps the
  // slot busy with one always queued for 330 s: plain SRTF runs it only after
  // the stream, aging-SRTF once it has waited max_wait (20 s), within one
  // job's length; the short jobs it delays wait less than that.
  std::vector<Arrival> arrivals;
  for (int i = 0; i < 330; ++i) arrivals.push_back({i * 0.999, 1.0, 0});
  arrivals.insert(arrivals.begin() + 1, Arrival{0.5, 10.0, 1});
  std::map<std::string, SimulationResult> results;
  for (const std::string order : {"srtf", "aging-srtf"}) {
    ListSource source(arrivals, 2);
    SimulationOptions options = TheoryOptions(1, 1, order);
    options.order_options.max_wait = absl::Seconds(20);
    auto result = Simulate(options, source);
    ASSERT_TRUE(result.ok()) << result.status();
    results[order] = *result;
  }
  EXPECT_GT(results["srtf"].max_wait, 300);
  EXPECT_LE(results["aging-srtf"].max_wait, 20 + results["aging-srtf"].longest_job);
}

TEST(SimulatorTest, AFifoRelativeGuardKeepsShortestFirstThroughABurst) {
  // 4 slots; 90 % of jobs take 0.1 s, 8 % 5 s, 2 % 40 s (mean 1.29 s). Five
  // minutes at 1.4x capacity, then 35 at 0.9x: FIFO's backlog grows to minutes
  // and drains slowly. A fixed 30 s guard serves the backlog oldest first
  // (FIFO again: 0.86x its slowdown, seed 11); plain SRTF passes the 40 s
  // jobs over (1.5x FIFO's max wait); the FIFO-relative guard (the
  // configuration's defaults) keeps SRTF's gain (0.11x) with a max wait of
  // 1.4x FIFO's.
  std::mt19937_64 rng(11);
  std::discrete_distribution<int> kind({90, 8, 2});
  constexpr double kSeconds[] = {0.1, 5.0, 40.0};
  std::vector<Arrival> arrivals;
  double t = 0;
  for (const auto& [rho, until] : {std::pair{1.4, 300.0}, std::pair{0.9, 2400.0}}) {
    std::exponential_distribution<double> gap(rho * 4 / 1.29);
    while ((t += gap(rng)) < until) {
      const int k = kind(rng);
      arrivals.push_back({t, kSeconds[k], static_cast<uint32_t>(k)});
    }
  }
  auto run = [&](const std::string& order, const scheduling::QueueOrderOptions& guard) {
    ListSource source(arrivals, 3);
    SimulationOptions options = TheoryOptions(1, 4, order);
    options.order_options = guard;
    auto result = Simulate(options, source);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.value_or(SimulationResult{});
  };
  const SimulationResult fifo = run("fifo", {});
  const SimulationResult srtf = run("srtf", {});
  const SimulationResult fixed =
      run("aging-srtf", {.aging_rate = 0.1, .max_wait = absl::Seconds(30)});
  const SimulationResult relative = run("aging-srtf", {.aging_rate = 0.01,
                                                       .max_wait = absl::Minutes(4),
                                                       .fifo_wait_factor = 2,
                                                       .min_wait = absl::Minutes(1)});
  ASSERT_GT(fifo.max_wait, 60) << "the burst must build a backlog of minutes";
  EXPECT_GT(srtf.max_wait, fifo.max_wait);
  EXPECT_GT(fixed.mean_slowdown, 0.5 * fifo.mean_slowdown);
  EXPECT_LT(relative.mean_slowdown, 0.25 * fifo.mean_slowdown);
  EXPECT_LE(relative.max_wait, 2.5 * fifo.max_wait);
}

TEST(SimulatorTest, WarmInstancesSaveColdStartsUntilKeepAliveRunsOut) {
  // One worker, one slot: each job starts as the previous ends + gap.
  std::vector<Arrival> arrivals;
  for (int i = 0; i < 10; ++i) arrivals.push_back({i * 10.0, 1.0, 0});
  SimulationOptions options = TheoryOptions(1, 1, "fifo");
  options.cold_start_seconds = 2;
  options.keep_alive_seconds = 60;
  {
    ListSource source(arrivals, 1);
    auto result = Simulate(options, source);
    ASSERT_TRUE(result.ok());
    EXPECT_DOUBLE_EQ(result->cold_start_fraction, 0.1);  // only the first
    EXPECT_NEAR(result->mean_response, (3.0 + 9 * 1.0) / 10, 1e-9);
  }
  options.keep_alive_seconds = 5;  // idle 7 s between jobs: every start is cold
  ListSource source(arrivals, 1);
  auto result = Simulate(options, source);
  ASSERT_TRUE(result.ok());
  EXPECT_DOUBLE_EQ(result->cold_start_fraction, 1.0);
  EXPECT_NEAR(result->mean_response, 3.0, 1e-9);
}

TEST(SimulatorTest, WarmFirstPlacementReusesWarmWorkers) {
  // One function every 10 s on two single-slot workers with a 15 s keep-alive:
  // round-robin alternates, so each worker sees it every 20 s and every start is
  // cold; warm-first over round-robin keeps going back to the warm worker.
  std::vector<Arrival> arrivals;
  for (int i = 0; i < 100; ++i) arrivals.push_back({i * 10.0, 1.0, 0});
  SimulationOptions options = TheoryOptions(2, 1, "fifo");
  options.cold_start_seconds = 1;
  options.keep_alive_seconds = 15;
  options.placement = "round-robin";
  ListSource source(arrivals, 1);
  auto round_robin = Simulate(options, source);
  ASSERT_TRUE(round_robin.ok());
  EXPECT_DOUBLE_EQ(round_robin->cold_start_fraction, 1.0);
  options.placement = "warm-first/round-robin";
  ListSource again(arrivals, 1);
  auto warm_first = Simulate(options, again);
  ASSERT_TRUE(warm_first.ok());
  EXPECT_EQ(warm_first->placement, "warm-first/round-robin");
  EXPECT_DOUBLE_EQ(warm_first->cold_start_fraction, 1.0 / 100);
}

TEST(SimulatorTest, ThePredictorLearnsWhatItSees) {
  // Constant 3 s durations: after the first completion the estimate is exact,
  // so the median error is 0 (tsi) and 30 % for the conservative tsu = 0.7·tsi.
  std::vector<Arrival> arrivals;
  for (int i = 0; i < 100; ++i) arrivals.push_back({i * 5.0, 3.0, 0});
  SimulationOptions options = TheoryOptions(1, 1, "aging-srtf");
  options.oracle = false;
  ListSource source(arrivals, 1);
  auto result = Simulate(options, source);
  ASSERT_TRUE(result.ok());
  EXPECT_NEAR(result->predictor_mdape_tsi, 0, 1e-6);
  EXPECT_NEAR(result->predictor_mdape_tsu, 0.3, 1e-6);
  // Oracle mode reports no predictor error at all.
  ListSource again(arrivals, 1);
  auto oracle = Simulate(TheoryOptions(1, 1, "aging-srtf"), again);
  ASSERT_TRUE(oracle.ok());
  EXPECT_TRUE(std::isnan(oracle->predictor_mdape_tsi));
}

TEST(SimulatorTest, ScalesATraceToTheTargetUtilisationAndIsDeterministic) {
  auto trace = LoadAzure2019(kData + "/azure2019-100fn-8h");
  ASSERT_TRUE(trace.ok()) << trace.status();
  SimulationOptions options;
  options.queue_order = "fifo";
  const uint32_t capacity = options.workers * options.slots;
  const double scale = TimeScaleFor(OfferedLoad(*trace), capacity, 0.7);
  Azure2019Source first(&*trace, scale, 11);
  auto a = Simulate(options, first);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->invocations, trace->total_invocations);
  EXPECT_NEAR(a->utilisation, 0.7, 0.03);
  Azure2019Source second(&*trace, scale, 11);
  auto b = Simulate(options, second);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->mean_response, b->mean_response);
  EXPECT_EQ(a->max_wait, b->max_wait);
  Azure2019Source other_seed(&*trace, scale, 12);
  auto c = Simulate(options, other_seed);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->mean_response, c->mean_response);
}

TEST(SimulatorTest, UnknownPoliciesAndEmptyClustersAreRejected) {
  PoissonSource source(1, 1, 10, 1);
  SimulationOptions options;
  options.queue_order = "lifo";
  auto result = Simulate(options, source);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("aging-srtf"), std::string::npos);
  options = SimulationOptions();
  options.placement = "closest";
  EXPECT_EQ(Simulate(options, source).status().code(), absl::StatusCode::kInvalidArgument);
  options = SimulationOptions();
  options.slots = 0;
  EXPECT_EQ(Simulate(options, source).status().code(), absl::StatusCode::kInvalidArgument);
}

// The binary: a one-line reason and exit 2 on bad input; a table on good input.
std::pair<int, std::string> RunSim(const std::string& args) {
  const std::string command = std::string(FSCHED_SIM_BIN) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(SimulatorCliTest, BadInputGetsOneLineAndExitTwo) {
  for (const std::string& args : std::vector<std::string>{
           "", "--trace /nonexistent/dir.csv", "--mmc 1,2", "--mmc 1,1,10 --utilization 0.5,x",
           "--mmc 1,1,10 --orders lifo", "--mmc 1,1,10 --placement closest",
           "--mmc 1,1,10 --config /nonexistent.yaml"}) {
    auto [code, out] = RunSim(args);
    EXPECT_EQ(code, 2) << args << ": " << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << args << ": " << out;
    EXPECT_TRUE(out.starts_with("fsched-sim: ")) << out;
  }
}

TEST(SimulatorCliTest, PrintsATableAndJsonAndItsSpeed) {
  auto [code, out] = RunSim("--trace " + kData + "/azure2021/Azure2021_200.csv --orders fifo,srtf");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("mean_s"), std::string::npos) << out;
  EXPECT_NE(out.find(" srtf "), std::string::npos) << out;
  EXPECT_NE(out.find("invocations/s"), std::string::npos) << out;
  auto [json_code, json] =
      RunSim("--mmc 2,1,1000 --workers 1 --slots 4 --utilization 0.5 --json --orders aging-srtf");
  ASSERT_EQ(json_code, 0) << json;
  EXPECT_NE(json.find("\"queue_order\": \"aging-srtf\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"invocations\": 1000"), std::string::npos) << json;
  EXPECT_NE(json.find("\"target_utilisation\": 0.5"), std::string::npos) << json;
}

TEST(CacheModelTest, SlowdownFollowsTheCurveAndPartitioningsDiffer) {
  const CacheCurve matrix{"matrix", 0.3, 2.0, 8, 0.5};
  EXPECT_DOUBLE_EQ(CacheSlowdown(matrix, 20, 20), 1.0);
  EXPECT_NEAR(CacheSlowdown(matrix, 1, 20), 2.3 / (0.3 + 2.0 / (1 + std::sqrt(19.0))), 1e-12);
  EXPECT_GT(CacheSlowdown(matrix, 2, 20), CacheSlowdown(matrix, 5, 20));

  // One worker, two slots: a matrix job, then at the same instant a streaming
  // job. Shared by footprint, each gets its share of the footprints running
  // when it starts (the matrix job alone: its 8; the stream 20·20/28); split
  // equally 10 each; partitioned, what the benchmark curves ask for.
  const std::vector<CacheCurve> curves = {matrix, {"stream", 0.97, 0.03, 20, 0.2}};
  SimulationOptions options;
  options.workers = 1;
  options.slots = 2;
  options.cold_start_seconds = 0;
  options.queue_order = "fifo";
  options.cache.curves = curves;
  std::map<std::string, SimulationResult> results;
  for (const char* p : {"none", "equal", "predicted"}) {
    options.cache.partitioning = p;
    ListSource source({{0.0, 1.0, 0}, {0.0, 1.0, 1}}, 2);
    absl::StatusOr<SimulationResult> r = Simulate(options, source);
    ASSERT_TRUE(r.ok()) << r.status();
    results[p] = *r;
  }
  EXPECT_NEAR(results["none"].mean_cache_ways, (8 + 20.0 * 20 / 28) / 2, 1e-9);
  EXPECT_NEAR(results["equal"].mean_cache_ways, 10, 1e-9);
  // The prediction gives the matrix job several ways and the stream few, never
  // more than the worker has.
  EXPECT_LE(results["predicted"].mean_cache_ways * 2, 20);
  EXPECT_GT(results["predicted"].mean_cache_ways, 1);

  options.cache.partitioning = "fair";
  ListSource source({{0.0, 1.0, 0}}, 2);
  EXPECT_EQ(Simulate(options, source).status().code(), absl::StatusCode::kInvalidArgument);
  options.cache.partitioning = "none";
  options.cache.curves.pop_back();  // one curve for two functions
  ListSource again({{0.0, 1.0, 0}}, 2);
  EXPECT_EQ(Simulate(options, again).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
// The JSON report is what scripts parse: any workload name and any figure
// (one that is not finite included) must give valid JSON.
TEST(SimulatorReportTest, JsonParsesBackWithAnyNameAndNonFiniteFigures) {
  RunRecord run{};
  run.workload = "say \"hi\"\n\ttab\\";
  run.target_utilisation = 0.9;
  run.workers = 3;
  run.result.queue_order = "aging-srtf";
  run.result.invocations = 1000;
  run.result.mean_slowdown = std::nan("");
  run.result.max_wait = INFINITY;
  const std::string json = FormatJson({run});
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  const auto& first = parsed.fields().at("runs").list_value().values(0).struct_value().fields();
  EXPECT_EQ(first.at("workload").string_value(), run.workload);
  EXPECT_EQ(first.at("invocations").number_value(), 1000);
  EXPECT_EQ(first.at("target_utilisation").number_value(), 0.9);
  EXPECT_TRUE(first.at("mean_slowdown").has_null_value());
  EXPECT_TRUE(first.at("max_wait_s").has_null_value());
}

}  // namespace fsched::sim
