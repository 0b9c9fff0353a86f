#include "worker/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/proto_time.h"
#include "worker/process_runtime.h"

namespace fsched::worker {
namespace {

v1::Assignment Assign(const std::string& id, std::vector<std::string> command,
                      v1::RuntimeKind runtime = v1::RUNTIME_KIND_PROCESS) {
  v1::Assignment a;
  a.set_invocation_id(id);
  a.set_attempt(2);
  a.set_hops(1);
  a.mutable_function()->set_name("fn");
  a.mutable_function()->set_runtime(runtime);
  for (auto& c : command) a.mutable_function()->add_command(c);
  ToProto(absl::Seconds(10), a.mutable_timeout());
  return a;
}

// Submits `a` and waits for its result.
v1::InvocationResult RunToEnd(Executor& executor, const v1::Assignment& a) {
  absl::Notification done;
  v1::InvocationResult result;
  EXPECT_TRUE(executor
                  .Submit(a,
                          [&](v1::InvocationResult r) {
                            result = std::move(r);
                            done.Notify();
                          })
                  .ok());
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  return result;
}

class ExecutorTest : public ::testing::Test {
 protected:
  ExecutorTest()
      : executor_(Options(), {{v1::RUNTIME_KIND_UNSPECIFIED, &runtime_},
                              {v1::RUNTIME_KIND_PROCESS, &runtime_}}) {
    executor_.set_observer(&observer_);
  }
  static Executor::Options Options() {
    Executor::Options options;
    options.slots = 2;
    options.output_limit_bytes = 1024;
    return options;
  }
  // Counts the results it is told.
  struct CountingObserver : ResultObserver {
    explicit CountingObserver(std::atomic<int>* finished) : finished(finished) {}
    void OnResult(const v1::InvocationResult&) override { ++*finished; }
    std::atomic<int>* finished;
  };
  std::atomic<int> finished_{0};
  CountingObserver observer_{&finished_};
  ProcessRuntime runtime_;
  Executor executor_;
};

TEST_F(ExecutorTest, RunsAssignmentsAndEchoesTheirIdentity) {
  absl::Notification done;
  v1::InvocationResult result;
  v1::Assignment a = Assign("i1", {"/bin/echo"});
  a.add_args("hello");
  int finished_before_done = -1;
  ASSERT_TRUE(executor_
                  .Submit(a,
                          [&](v1::InvocationResult r) {
                            finished_before_done = finished_.load();
                            result = std::move(r);
                            done.Notify();
                          })
                  .ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(result.invocation_id(), "i1");
  EXPECT_EQ(result.attempts(), 2u);
  EXPECT_EQ(result.hops(), 1u);
  EXPECT_EQ(result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(result.stdout(), "hello\n");
  EXPECT_GT(ToSeconds(result.timings().execution()), 0);
  EXPECT_EQ(finished_before_done, 1);  // the observer saw it before done
}

TEST_F(ExecutorTest, RefusesBeyondItsSlotsAndDuplicates) {
  absl::Notification a_done, b_done;
  ASSERT_TRUE(
      executor_
          .Submit(Assign("a", {"sleep", "0.3"}), [&](v1::InvocationResult) { a_done.Notify(); })
          .ok());
  EXPECT_EQ(executor_.Submit(Assign("a", {"true"}), [](v1::InvocationResult) {}).code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(
      executor_
          .Submit(Assign("b", {"sleep", "0.3"}), [&](v1::InvocationResult) { b_done.Notify(); })
          .ok());
  EXPECT_EQ(executor_.Submit(Assign("c", {"true"}), [](v1::InvocationResult) {}).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(executor_.Running().size(), 2u);
  ASSERT_TRUE(a_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(b_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(executor_.Running().empty());
}

TEST_F(ExecutorTest, UnsupportedRuntimeIsAStartFailure) {
  absl::Notification done;
  v1::InvocationResult result;
  ASSERT_TRUE(executor_
                  .Submit(Assign("r", {"true"}, v1::RUNTIME_KIND_RUNC),
                          [&](v1::InvocationResult r) {
                            result = std::move(r);
                            done.Notify();
                          })
                  .ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(result.outcome(), v1::OUTCOME_START_FAILED);
  EXPECT_NE(result.message().find("RUNTIME_KIND_RUNC"), std::string::npos);
}

// ALPS's slices: a function's first call takes its slice from the master's
// prediction, the next from the CPU time its runs here took.
TEST_F(ExecutorTest, CallsRunWithTheSliceLearnedFromTheirFunctionsRuns) {
  if (!KernelTakesCpuSlices()) GTEST_SKIP() << "this kernel takes no per-task slice";
  if (!std::filesystem::exists("/proc/self/sched")) GTEST_SKIP() << "no /proc/<pid>/sched";
  CpuSlices slices;
  Executor::Options options = Options();
  options.cpu_slices = &slices;
  Executor learning(options, {{v1::RUNTIME_KIND_PROCESS, &runtime_}});
  const auto run = [&](const std::string& id) {
    v1::Assignment a = Assign(id, {"sh", "-c", "awk '/^se.slice /{print $NF}' /proc/$$/sched"});
    a.set_predicted_seconds(0.02);
    return RunToEnd(learning, a);
  };
  v1::InvocationResult first = run("s1");
  ASSERT_EQ(first.outcome(), v1::OUTCOME_OK) << first.message();
  EXPECT_EQ(first.stdout(), "20000000\n") << "min(20 ms, 200 ms) − 0 from the prediction";
  const std::optional<CpuSlices::Stats> stats = slices.StatsOf("fn");
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->runs, 1u);
  EXPECT_NEAR(stats->mean_s, ToSeconds(first.timings().cpu_time()), 1e-9);
  const absl::Duration learned = slices.SliceFor("fn", 0.02);
  v1::InvocationResult second = run("s2");
  ASSERT_EQ(second.outcome(), v1::OUTCOME_OK) << second.message();
  EXPECT_EQ(second.stdout(), absl::StrCat(absl::ToInt64Nanoseconds(learned), "\n"));
}

// Persistent instances live in the process runtime: a persistent function
// that names no runtime goes there, whatever this worker's default is.
TEST_F(ExecutorTest, APersistentFunctionRunsInTheProcessRuntimeWhateverTheDefault) {
  const std::string code = ::testing::TempDir() + "/executor-persistent";
  std::filesystem::create_directories(code);
  std::ofstream(code + "/echo.py") << "def handle(payload):\n    return payload\n";
  runtime_.set_runtimes_dir(std::string(FSCHED_SOURCE_DIR) + "/runtimes");
  Executor only_process(Options(), {{v1::RUNTIME_KIND_PROCESS, &runtime_}});
  const auto run = [&](const v1::Assignment& a) { return RunToEnd(only_process, a); };
  v1::Assignment a = Assign("p", {}, v1::RUNTIME_KIND_UNSPECIFIED);
  a.mutable_function()->set_language("python");
  a.mutable_function()->set_handler("echo:handle");
  a.mutable_function()->set_working_dir(code);
  a.set_payload("back");
  v1::InvocationResult result = run(a);
  EXPECT_EQ(result.outcome(), v1::OUTCOME_OK) << result.message();
  EXPECT_EQ(result.stdout(), "back");
  // An exec function naming no runtime needs the default, which is missing.
  result = run(Assign("e", {"true"}, v1::RUNTIME_KIND_UNSPECIFIED));
  EXPECT_EQ(result.outcome(), v1::OUTCOME_START_FAILED);
  std::filesystem::remove_all(code);
}

TEST_F(ExecutorTest, CancelReachesTheRunningFunction) {
  absl::Notification done;
  v1::InvocationResult result;
  ASSERT_TRUE(executor_
                  .Submit(Assign("long", {"sleep", "30"}),
                          [&](v1::InvocationResult r) {
                            result = std::move(r);
                            done.Notify();
                          })
                  .ok());
  EXPECT_TRUE(executor_.Cancel("long"));
  EXPECT_FALSE(executor_.Cancel("unknown"));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(result.outcome(), v1::OUTCOME_CANCELLED);
}

TEST_F(ExecutorTest, APreemptorTakesAFrozenSlotAndTheVictimResumesAfterIt) {
  absl::Notification long_a_done, long_b_done, short_done;
  v1::InvocationResult long_result, short_result;
  absl::Time short_finished, long_finished;
  ASSERT_TRUE(executor_
                  .Submit(Assign("long-a", {"sleep", "1"}),
                          [&](v1::InvocationResult r) {
                            long_result = std::move(r);
                            long_finished = absl::Now();
                            long_a_done.Notify();
                          })
                  .ok());
  ASSERT_TRUE(executor_
                  .Submit(Assign("long-b", {"sleep", "0.2"}),
                          [&](v1::InvocationResult) { long_b_done.Notify(); })
                  .ok());
  absl::SleepFor(absl::Milliseconds(100));
  v1::Assignment preemptor = Assign("short", {"sleep", "0.6"});
  preemptor.set_preempts("long-a");
  ASSERT_TRUE(executor_
                  .Submit(preemptor,
                          [&](v1::InvocationResult r) {
                            short_result = std::move(r);
                            short_finished = absl::Now();
                            short_done.Notify();
                          })
                  .ok());
  // long-a is frozen: it holds no slot, but the two running ones fill both.
  EXPECT_EQ(executor_.Running().size(), 3u);
  EXPECT_EQ(executor_.Submit(Assign("extra", {"true"}), [](v1::InvocationResult) {}).code(),
            absl::StatusCode::kResourceExhausted);
  // A frozen invocation cannot be preempted again.
  v1::Assignment again = Assign("again", {"true"});
  again.set_preempts("long-a");
  EXPECT_EQ(executor_.Submit(again, [](v1::InvocationResult) {}).code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(short_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(long_a_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(long_b_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(short_result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(long_result.outcome(), v1::OUTCOME_OK);
  EXPECT_LT(short_finished, long_finished);
  EXPECT_GE(ToSeconds(long_result.timings().paused()), 0.5);
  EXPECT_EQ(ToSeconds(short_result.timings().paused()), 0);
}

TEST_F(ExecutorTest, PreemptingAnInvocationThatAlreadyEndedIsAPlainStart) {
  absl::Notification done;
  v1::Assignment a = Assign("late", {"true"});
  a.set_preempts("gone");
  ASSERT_TRUE(executor_.Submit(a, [&](v1::InvocationResult) { done.Notify(); }).ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

}  // namespace
}  // namespace fsched::worker
