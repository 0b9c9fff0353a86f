#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/proto_time.h"
#include "tools/fsched-bench/results.h"

namespace fsched::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Sample Answered(int level, const std::string& function, double latency,
                v1::Outcome outcome = v1::OUTCOME_OK) {
  Sample s;
  s.level = level;
  s.shape = absl::StrCat("level ", level);
  s.function = function;
  s.sent = true;
  s.sent_at = absl::FromUnixSeconds(1000) + absl::Seconds(latency);
  s.client_latency = latency;
  s.result.set_function(function);
  s.result.set_outcome(outcome);
  ToProto(absl::Milliseconds(2), s.result.mutable_timings()->mutable_queue_wait());
  ToProto(absl::Milliseconds(10), s.result.mutable_timings()->mutable_execution());
  return s;
}

TEST(SummarizeRunTest, LevelsThenFunctionsWithExactPercentiles) {
  std::vector<Sample> samples;
  // Level 0: one function, latencies 1..100 ms.
  for (int i = 1; i <= 100; ++i) samples.push_back(Answered(0, "f", i / 1000.0));
  // Level 1: two functions, one failure, one RPC error, two warm-ups, one
  // abandoned and one never sent.
  samples.push_back(Answered(1, "a", 0.010));
  samples.push_back(Answered(1, "a", 0.030));
  samples.push_back(Answered(1, "b", 0.050, v1::OUTCOME_NONZERO_EXIT));
  Sample rpc = Answered(1, "b", 0.5);
  rpc.rpc_code = 14;
  rpc.rpc_message = "connection refused";
  samples.push_back(rpc);
  for (int i = 0; i < 2; ++i) {
    Sample w = Answered(1, "a", 9.0);
    w.warmup = true;
    samples.push_back(w);
  }
  Sample gone = Answered(1, "b", 9.0);
  gone.abandoned = true;
  samples.push_back(gone);
  Sample unsent = Answered(1, "b", 9.0);
  unsent.sent = false;
  samples.push_back(unsent);

  const std::vector<GroupStats> groups = SummarizeRun(samples);
  ASSERT_EQ(groups.size(), 4u);  // level 0; level 1, a, b
  const GroupStats& l0 = groups[0];
  EXPECT_EQ(l0.function, "");
  EXPECT_EQ(l0.count, 100);
  EXPECT_EQ(l0.succeeded, 100);
  EXPECT_NEAR(l0.mean, 0.0505, 1e-9);
  EXPECT_NEAR(l0.p50, 0.0505, 1e-9);
  EXPECT_NEAR(l0.p99, 0.09901, 1e-9);
  EXPECT_NEAR(l0.max, 0.100, 1e-12);
  EXPECT_NEAR(l0.queue_wait_mean, 0.002, 1e-12);
  EXPECT_NEAR(l0.execution_mean, 0.010, 1e-12);

  const GroupStats& l1 = groups[1];
  EXPECT_EQ(l1.function, "");
  EXPECT_EQ(l1.count, 4);  // warm-ups, abandoned and unsent are not counted
  EXPECT_EQ(l1.succeeded, 2);
  EXPECT_EQ(l1.function_failed, 1);
  EXPECT_EQ(l1.rpc_failed, 1);
  EXPECT_EQ(l1.warmup, 2);
  EXPECT_EQ(l1.abandoned, 1);
  EXPECT_NEAR(l1.mean, 0.030, 1e-12);  // RPC failures have no latency
  EXPECT_THAT(l1.first_failure, HasSubstr("OUTCOME_NONZERO_EXIT"));
  EXPECT_EQ(groups[2].function, "a");
  EXPECT_EQ(groups[2].count, 2);
  EXPECT_EQ(groups[3].function, "b");
  EXPECT_EQ(groups[3].rpc_failed, 1);
}

TEST(SummarizeRunTest, SplitsByExecutionModeAndMeasuresOverhead) {
  std::vector<Sample> samples;
  // One function: 2 cold calls (100 ms), 4 warm ones (10.5 ms, of which 10 ms execution).
  for (int i = 0; i < 2; ++i) {
    Sample s = Answered(0, "f", 0.100);
    s.result.set_mode(v1::EXECUTION_MODE_COLD);
    ToProto(absl::Milliseconds(80), s.result.mutable_timings()->mutable_cold_start());
    samples.push_back(s);
  }
  for (int i = 0; i < 4; ++i) {
    Sample s = Answered(0, "f", 0.0105);
    s.result.set_mode(v1::EXECUTION_MODE_WARM);
    samples.push_back(s);
  }
  const std::vector<GroupStats> groups = SummarizeRun(samples);
  ASSERT_EQ(groups.size(), 3u);  // the level, then cold and warm
  EXPECT_EQ(groups[0].mode, "");
  EXPECT_EQ(groups[0].count, 6);
  EXPECT_EQ(groups[1].mode, "cold");
  EXPECT_EQ(groups[1].count, 2);
  EXPECT_NEAR(groups[1].cold_start_mean, 0.080, 1e-12);
  EXPECT_NEAR(groups[1].overhead_p50, 0.090, 1e-9);
  EXPECT_EQ(groups[2].mode, "warm");
  EXPECT_EQ(groups[2].count, 4);
  EXPECT_NEAR(groups[2].p50, 0.0105, 1e-12);
  EXPECT_NEAR(groups[2].overhead_p50, 0.0005, 1e-9);
  EXPECT_NEAR(groups[2].overhead_p99, 0.0005, 1e-9);
  const std::string text = FormatSummary(groups);
  EXPECT_THAT(text, HasSubstr("level 0, mode warm: 4 calls"));
  EXPECT_THAT(text, HasSubstr("overhead p50 0.50 ms"));
  EXPECT_THAT(FormatJson("x", false, groups), HasSubstr("\"mode\": \"cold\""));
}

TEST(SummarizeRunTest, DeadlineMissesCountLateAndFailedCalls) {
  std::vector<Sample> samples;
  for (int i = 1; i <= 8; ++i) samples.push_back(Answered(0, "f", i / 10.0));  // 0.1 .. 0.8 s
  Sample failed = Answered(0, "f", 0.05);
  failed.result.set_outcome(v1::OUTCOME_NONZERO_EXIT);
  samples.push_back(failed);
  Sample lost = Answered(0, "f", 0.01);
  lost.rpc_code = 14;  // UNAVAILABLE
  samples.push_back(lost);
  // Over 0.5 s: 0.6, 0.7, 0.8; plus the two failures -> 5 of 10.
  std::vector<GroupStats> groups = SummarizeRun(samples, absl::Milliseconds(500));
  ASSERT_FALSE(groups.empty());
  EXPECT_EQ(groups[0].deadline_missed, 5);
  EXPECT_DOUBLE_EQ(groups[0].deadline_miss_rate, 0.5);
  EXPECT_THAT(FormatSummary(groups), HasSubstr("deadline 500 ms missed by 5 (50.00 %)"));
  EXPECT_THAT(FormatJson("x", false, groups), HasSubstr("\"deadline_miss_rate\": 0.5"));
  // Without a deadline nothing is counted or printed.
  groups = SummarizeRun(samples);
  EXPECT_EQ(groups[0].deadline_missed, 0);
  EXPECT_THAT(FormatSummary(groups), Not(HasSubstr("deadline")));
}

// Open-loop levels carry how well the driver kept its schedule: the rate it
// sent at and its send lag, over every sent call (warm-ups too).
TEST(SummarizeRunTest, OpenLoopLevelsReportTheirSendRateAndLag) {
  std::vector<Sample> samples;
  for (int i = 0; i < 5; ++i) {
    Sample s = Answered(0, "f", 0.1);
    s.scheduled_send = true;
    s.scheduled = absl::FromUnixSeconds(1000) + absl::Milliseconds(250 * i);  // 4 req/s
    s.sent_at = s.scheduled + absl::Milliseconds(i == 4 ? 40 : i);            // lags 0,1,2,3,40 ms
    s.warmup = i == 0;
    samples.push_back(s);
  }
  samples.push_back(Answered(0, "f", 0.1));  // a closed-loop call in the same group: no lag
  const auto groups = SummarizeRun(samples);
  ASSERT_FALSE(groups.empty());
  EXPECT_TRUE(groups[0].open_loop);
  EXPECT_NEAR(groups[0].sent_rps, 4 / 1.040, 1e-9);  // 4 intervals from 0 to 1,040 ms
  EXPECT_NEAR(groups[0].send_lag_max, 0.040, 1e-12);
  EXPECT_NEAR(groups[0].send_lag_p99, 0.003 + 0.96 * 0.037, 1e-9);  // interpolated
  google::protobuf::Struct parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(FormatJson("x", false, groups), &parsed).ok());
  const auto& level = parsed.fields().at("levels").list_value().values(0).struct_value();
  EXPECT_NEAR(level.fields().at("send_lag_s").struct_value().fields().at("max").number_value(),
              0.040, 1e-12);
  EXPECT_NEAR(level.fields().at("sent_rps").number_value(), 4 / 1.040, 1e-9);
  // A closed-loop level has neither.
  std::vector<Sample> closed = {Answered(0, "f", 0.1), Answered(0, "f", 0.2)};
  const auto closed_groups = SummarizeRun(closed);
  EXPECT_FALSE(closed_groups[0].open_loop);
  EXPECT_THAT(FormatJson("x", false, closed_groups), Not(HasSubstr("send_lag_s")));
}

TEST(FormatTest, RunAllOutAndJsonCarryTheFigures) {
  std::vector<Sample> samples;
  for (int i = 1; i <= 4; ++i) samples.push_back(Answered(0, "f", i / 10.0));
  const auto groups = SummarizeRun(samples);
  EXPECT_EQ(FormatRunAllOut(groups),
            "=== level 0 ===\ncount: 4\nmean: 0.250000\nmedian: 0.250000\np90: 0.370000\n"
            "p95: 0.385000\np99: 0.397000\n\n");
  // The JSON parses back, and a label with quotes survives.
  const std::string json = FormatJson("say \"hi\"", true, groups);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  EXPECT_EQ(parsed.fields().at("label").string_value(), "say \"hi\"");
  EXPECT_TRUE(parsed.fields().at("interrupted").bool_value());
  const auto& level = parsed.fields().at("levels").list_value().values(0).struct_value();
  EXPECT_EQ(level.fields().at("count").number_value(), 4);
  EXPECT_NEAR(level.fields().at("latency_s").struct_value().fields().at("p50").number_value(), 0.25,
              1e-12);
  EXPECT_THAT(FormatSummary(groups), HasSubstr("level 0: 4 calls"));
}

TEST(WriteResultsTest, WritesEveryFileAndEscapesCsvFields) {
  const std::string dir = ::testing::TempDir() + "/bench-results-test";
  std::filesystem::remove_all(dir);
  std::vector<Sample> samples{Answered(0, "f", 0.1), Answered(0, "f", 0.2)};
  samples[0].trace_function = "a,\"b\"";
  samples[1].sent = false;
  ASSERT_TRUE(WriteResults(dir, "x", false, samples, SummarizeRun(samples)).ok());
  for (const char* f : {"invocations.csv", "summary.txt", "run-all-out.txt", "summary.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  }
  std::ifstream in(dir + "/invocations.csv");
  std::stringstream text;
  text << in.rdbuf();
  const std::string csv = text.str();
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);  // header + the sent call
  EXPECT_THAT(csv, HasSubstr(",\"a,\"\"b\"\"\","));
  EXPECT_THAT(csv, HasSubstr(",ok,"));
  // The header and each row have the same number of fields (outside quotes).
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), 33);

  EXPECT_EQ(WriteResults("/proc/no-such-dir/x", "x", false, samples, {}).code(),
            absl::StatusCode::kUnavailable);
}

// tools/fsched-plot draws real PNGs from what WriteResults wrote (Debian's
// matplotlib), and says clearly when a directory holds no results.
TEST(PlotScriptTest, DrawsEveryFigureFromWrittenResults) {
  const std::string dir = ::testing::TempDir() + "/bench-plot-test";
  std::filesystem::remove_all(dir);
  std::vector<Sample> samples;
  for (int level = 0; level < 2; ++level) {
    for (int i = 1; i <= 30; ++i) {
      Sample s = Answered(level, i % 2 ? "light" : "heavy", i / 100.0);
      s.offered_rps = 5.0 * (level + 1);
      s.result.set_mode(v1::EXECUTION_MODE_WARM);
      samples.push_back(s);
    }
  }
  ASSERT_TRUE(WriteResults(dir, "plot-test", false, samples, SummarizeRun(samples)).ok());
  const std::string script = std::string(FSCHED_SOURCE_DIR) + "/tools/fsched-plot";
  ASSERT_EQ(std::system((script + " " + dir + " > " + dir + "/plot.log 2>&1").c_str()), 0);
  for (const char* png : {"latency-cdf.png", "latency-over-time.png", "throughput.png",
                          "latency-box.png", "latency-mean.png"}) {
    std::ifstream in(dir + "/" + png, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    EXPECT_EQ(std::string(magic + 1, 3), "PNG") << png;
  }
  const std::string empty = ::testing::TempDir() + "/bench-plot-empty";
  std::filesystem::create_directories(empty);
  EXPECT_NE(std::system((script + " " + empty + " > " + empty + "/plot.log 2>&1").c_str()), 0);
  std::ifstream log(empty + "/plot.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("invocations.csv not found"));
}

// tools/fsched-runs: mean ± 95 % interval over PREFIX-1, PREFIX-2, ... as
// WriteResults left them, the send lag of open-loop levels included.
TEST(RunsScriptTest, SummarisesRepeatedRunsWithTheirInterval) {
  const std::string dir = ::testing::TempDir() + "/bench-runs-test";
  std::filesystem::remove_all(dir);
  for (int run = 1; run <= 2; ++run) {
    std::vector<Sample> samples;
    for (int i = 0; i < 3; ++i) {
      Sample s = Answered(0, "f", 0.1 * run);  // every call 100 ms in run 1, 200 ms in run 2
      s.shape = "Poisson 4 req/s";
      s.offered_rps = 4;
      s.scheduled_send = true;
      s.scheduled = absl::FromUnixSeconds(1000) + absl::Milliseconds(500 * i);
      s.sent_at = s.scheduled + absl::Milliseconds(run);  // lag 1 ms, then 2 ms
      samples.push_back(s);
    }
    const std::string out = dir + "/level-" + std::to_string(run);
    ASSERT_TRUE(WriteResults(out, "runs-test", false, samples, SummarizeRun(samples)).ok());
  }
  const std::string script = std::string(FSCHED_SOURCE_DIR) + "/tools/fsched-runs";
  const std::string log = dir + "/runs.log";
  ASSERT_EQ(std::system(
                (script + " " + dir + "/level --metrics mean,lag_max,sent_rate > " + log + " 2>&1")
                    .c_str()),
            0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  // Mean 150 ms; half-width t(1) 12.706 × sd 70.71 / √2 = 635.3.
  EXPECT_THAT(text.str(), HasSubstr("150.0 ± 635.3 (2)")) << text.str();
  EXPECT_THAT(text.str(), HasSubstr("1.50 ± 6.35 (2)")) << text.str();  // lag_max 1 and 2 ms
  EXPECT_THAT(text.str(), HasSubstr("2.00 ± 0.00 (2)")) << text.str();  // 2 sends a second
  // A prefix without runs is refused.
  EXPECT_NE(
      std::system((script + " " + dir + "/nothing --metrics mean > " + log + " 2>&1").c_str()), 0);

  // Paired: a second prefix 130 ms, 260 ms and an unpaired 500 ms run; the
  // difference is taken run by run (30 and 60 ms), the third run left out.
  const double seconds[] = {0.13, 0.26, 0.5};
  for (int run = 1; run <= 3; ++run) {
    std::vector<Sample> samples(3, Answered(0, "f", seconds[run - 1]));
    for (Sample& s : samples) {
      s.shape = "Poisson 4 req/s";
      s.offered_rps = 4;
    }
    ASSERT_TRUE(WriteResults(dir + "/other-" + std::to_string(run), "runs-test", false, samples,
                             SummarizeRun(samples))
                    .ok());
  }
  ASSERT_EQ(std::system((script + " " + dir + "/level " + dir +
                         "/other --metrics mean --paired > " + log + " 2>&1")
                            .c_str()),
            0);
  std::ifstream paired(log);
  std::stringstream paired_text;
  paired_text << paired.rdbuf();
  EXPECT_THAT(paired_text.str(), HasSubstr("other − level (paired)")) << paired_text.str();
  // Mean 45 ms; half-width 12.706 × 21.21 / √2 = 190.6.
  EXPECT_THAT(paired_text.str(), HasSubstr("| 45.0 ± 190.6 (2) |")) << paired_text.str();
  EXPECT_THAT(paired_text.str(), HasSubstr("(3) |")) << paired_text.str();  // the other's 3 runs
  EXPECT_NE(std::system((script + " " + dir + "/level --paired > " + log + " 2>&1").c_str()), 0);
}

}  // namespace
}  // namespace fsched::bench
