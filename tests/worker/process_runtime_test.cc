#include "worker/process_runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "absl/time/clock.h"

namespace fsched::worker {
namespace {

using ::testing::HasSubstr;

ExecRequest Sh(const std::string& script, absl::Duration timeout = absl::Seconds(10)) {
  ExecRequest req;
  req.invocation_id = "inv-test";
  req.function.set_name("test-fn");
  req.argv = {"/bin/sh", "-c", script};
  req.timeout = timeout;
  return req;
}

class ProcessRuntimeTest : public ::testing::Test {
 protected:
  ExecResult Run(const ExecRequest& req) { return runtime_.Run(req, never_); }
  ProcessRuntime runtime_;
  RunControl never_;
};

TEST_F(ProcessRuntimeTest, PayloadOnStdinOutputCapturedTimesReported) {
  ExecRequest req = Sh("tr a-z A-Z; echo err >&2");
  req.stdin_data = "hello fsched";
  ExecResult r = Run(req);
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  EXPECT_EQ(r.stdout_data, "HELLO FSCHED");
  EXPECT_EQ(r.stderr_data, "err\n");
  EXPECT_EQ(r.mode, v1::EXECUTION_MODE_COLD);
  EXPECT_GT(r.execution, absl::ZeroDuration());
  EXPECT_GT(r.cold_start, absl::ZeroDuration());
}

TEST_F(ProcessRuntimeTest, LargePayloadAndOutputDoNotDeadlock) {
  ExecRequest req;
  req.argv = {"cat"};
  req.stdin_data = std::string(4 << 20, 'z');  // far beyond a pipe buffer
  req.output_limit_bytes = 8 << 20;
  req.timeout = absl::Seconds(20);
  ExecResult r = Run(req);
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  EXPECT_EQ(r.stdout_data.size(), req.stdin_data.size());
}

TEST_F(ProcessRuntimeTest, OutputBeyondTheCapIsTruncatedNotBlocked) {
  ExecRequest req = Sh("head -c 100000 /dev/zero");
  req.output_limit_bytes = 1000;
  ExecResult r = Run(req);
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK);
  EXPECT_EQ(r.stdout_data.size(), 1000u);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_FALSE(r.stderr_truncated);
}

TEST_F(ProcessRuntimeTest, NonZeroExitAndSignalsAreOutcomesWithReasons) {
  ExecResult exited = Run(Sh("exit 7"));
  EXPECT_EQ(exited.outcome, v1::OUTCOME_NONZERO_EXIT);
  EXPECT_EQ(exited.exit_code, 7);
  EXPECT_THAT(exited.message, HasSubstr("status 7"));
  ExecResult killed = Run(Sh("kill -SEGV $$"));
  EXPECT_EQ(killed.outcome, v1::OUTCOME_NONZERO_EXIT);
  EXPECT_EQ(killed.term_signal, SIGSEGV);
  EXPECT_THAT(killed.message, HasSubstr("SIGSEGV"));
}

TEST_F(ProcessRuntimeTest, TimeoutKillsTheWholeProcessGroup) {
  const std::string marker = ::testing::TempDir() + "/grandchild-survived";
  std::remove(marker.c_str());
  // The background grandchild would write the marker after 1.5 s if it survived.
  ExecResult r = Run(Sh("(sleep 1.5; touch " + marker + ") & sleep 30", absl::Milliseconds(300)));
  EXPECT_EQ(r.outcome, v1::OUTCOME_TIMEOUT);
  EXPECT_THAT(r.message, HasSubstr("timeout"));
  EXPECT_LT(r.execution, absl::Seconds(5));
  absl::SleepFor(absl::Seconds(2));
  EXPECT_FALSE(std::ifstream(marker).good()) << "a child of the timed-out function survived";
}

TEST_F(ProcessRuntimeTest, BackgroundChildDoesNotHoldTheInvocationOpen) {
  // The function exits at once but leaves a child holding stdout.
  ExecResult r = Run(Sh("sleep 30 & echo started"));
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK);
  EXPECT_EQ(r.stdout_data, "started\n");
  EXPECT_LT(r.execution, absl::Seconds(5));
}

TEST_F(ProcessRuntimeTest, MissingProgramIsStartFailed) {
  ExecRequest req;
  req.argv = {"/nonexistent/fsched-fn"};
  ExecResult r = Run(req);
  EXPECT_EQ(r.outcome, v1::OUTCOME_START_FAILED);
  EXPECT_THAT(r.message, HasSubstr("/nonexistent/fsched-fn"));
  ExecRequest bad_dir = Sh("true");
  bad_dir.working_dir = "/nonexistent-dir";
  EXPECT_EQ(Run(bad_dir).outcome, v1::OUTCOME_START_FAILED);
  ExecRequest empty;
  EXPECT_EQ(Run(empty).outcome, v1::OUTCOME_START_FAILED);
}

TEST_F(ProcessRuntimeTest, EnvironmentArgsAndWorkingDirectory) {
  ExecRequest req = Sh("echo \"$GREETING $FSCHED_FUNCTION $FSCHED_INVOCATION_ID $1\"; pwd");
  req.argv.push_back("arg0");
  req.argv.push_back("first-arg");
  req.env["GREETING"] = "hi";
  req.working_dir = "/tmp";
  ExecResult r = Run(req);
  EXPECT_EQ(r.stdout_data, "hi test-fn inv-test first-arg\n/tmp\n");
}

TEST_F(ProcessRuntimeTest, CancelStopsARunningFunction) {
  RunControl control;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(200));
    control.cancelled = true;
  });
  ExecResult r = runtime_.Run(Sh("sleep 30"), control);
  canceller.join();
  EXPECT_EQ(r.outcome, v1::OUTCOME_CANCELLED);
  EXPECT_LT(r.execution, absl::Seconds(5));
}

TEST_F(ProcessRuntimeTest, CpuTimeIsMeasured) {
  ExecResult r = Run(Sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"));
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK);
  EXPECT_GT(r.cpu_time, absl::Milliseconds(10));
  EXPECT_LE(r.cpu_time, r.execution + absl::Milliseconds(20));
}

// The function appends a timestamp every 20 ms; frozen for 1 s, it writes
// nothing for that long, and the frozen second does not count toward its 1.5 s
// timeout although its wall time exceeds it.
TEST_F(ProcessRuntimeTest, FreezingStopsTheFunctionAndStopsItsClock) {
  const std::string log = ::testing::TempDir() + "/fsched-freeze-" + std::to_string(::getpid());
  std::remove(log.c_str());
  ExecRequest req = Sh("for i in $(seq 1 40); do date +%s%N >> " + log + "; sleep 0.02; done");
  req.timeout = absl::Milliseconds(1500);
  RunControl control;
  std::thread freezer([&] {
    absl::SleepFor(absl::Milliseconds(200));
    control.paused = true;
    absl::SleepFor(absl::Seconds(1));
    control.paused = false;
  });
  const absl::Time start = absl::Now();
  ExecResult r = runtime_.Run(req, control);
  const absl::Duration wall = absl::Now() - start;
  freezer.join();
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  EXPECT_GT(wall, req.timeout);
  EXPECT_GE(r.paused, absl::Milliseconds(900));
  EXPECT_LT(r.execution, wall - absl::Milliseconds(900));
  std::ifstream in(log);
  std::vector<int64_t> stamps;
  for (int64_t ns; in >> ns;) stamps.push_back(ns);
  ASSERT_EQ(stamps.size(), 40u);
  int64_t longest_gap = 0;
  for (size_t i = 1; i < stamps.size(); ++i) {
    longest_gap = std::max(longest_gap, stamps[i] - stamps[i - 1]);
  }
  EXPECT_GE(longest_gap, 900'000'000) << "the function kept running while frozen";
  std::remove(log.c_str());
}

}  // namespace
}  // namespace fsched::worker
