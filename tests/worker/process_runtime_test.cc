#include "worker/process_runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "worker/cgroup.h"
#include "worker/cpu_slice.h"
#include "worker/kernel_files.h"

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

// The call's process joins its cache partition itself, before it execs: the
// function's first program already finds its pid in the group's tasks file,
// which nobody else writes (the after-start hook is not called).
TEST_F(ProcessRuntimeTest, TheCallJoinsItsCachePartitionBeforeItExecs) {
  const std::string tasks = ::testing::TempDir() + "/cache-join-tasks";
  std::ofstream(tasks).close();
  ExecRequest req = Sh("cat " + tasks + "; echo $$");
  req.cache_tasks_file = tasks;
  std::atomic<int> hooked{0};
  req.on_start = [&](pid_t) { ++hooked; };
  ExecResult r = Run(req);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  const std::vector<std::string> lines = absl::StrSplit(r.stdout_data, '\n');
  ASSERT_EQ(lines.size(), 3u) << r.stdout_data;
  EXPECT_EQ(lines[0], lines[1]) << "the tasks file does not hold the call's own pid";
  EXPECT_EQ(hooked, 0);

  // A tasks file it cannot open: the call still runs, and joins after it starts.
  req.cache_tasks_file = ::testing::TempDir() + "/no-such-group/tasks";
  req.argv = {"/bin/true"};
  r = Run(req);
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  EXPECT_EQ(hooked, 1);
}

// ALPS's slice is the function's own from its first instruction: set between
// fork and exec, so the shell already has it (and what it forks inherits).
TEST_F(ProcessRuntimeTest, TheCallTakesItsCpuSliceBeforeItExecs) {
  if (!KernelTakesCpuSlices()) GTEST_SKIP() << "this kernel takes no per-task slice";
  if (!std::filesystem::exists("/proc/self/sched")) GTEST_SKIP() << "no /proc/<pid>/sched";
  ExecRequest req =
      Sh("grep -E '^se.slice ' /proc/$$/sched; grep -E '^se.slice ' /proc/self/sched");
  req.cpu_slice = absl::Milliseconds(7);
  ExecResult r = Run(req);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  const std::vector<std::string> lines = absl::StrSplit(r.stdout_data, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.stdout_data;
  for (const std::string& line : lines) EXPECT_THAT(line, ::testing::EndsWith(" 7000000"));
  req.cpu_slice = absl::ZeroDuration();  // none asked: the kernel's own
  r = Run(req);
  EXPECT_THAT(r.stdout_data, ::testing::Not(::testing::HasSubstr(" 7000000")));
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

// The function appends a timestamp every 20 ms or so, 20 times (about 0.5 s of
// work, more on a loaded machine); frozen for 1 s, it writes nothing for that
// long, and the frozen second does not count toward its 1.2 s timeout although
// its wall time exceeds it.
TEST_F(ProcessRuntimeTest, FreezingStopsTheFunctionAndStopsItsClock) {
  const std::string log = ::testing::TempDir() + "/fsched-freeze-" + std::to_string(::getpid());
  std::remove(log.c_str());
  ExecRequest req = Sh("for i in $(seq 1 20); do date +%s%N >> " + log + "; sleep 0.02; done");
  req.timeout = absl::Milliseconds(1200);
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
  ASSERT_EQ(stamps.size(), 20u);
  int64_t longest_gap = 0;
  for (size_t i = 1; i < stamps.size(); ++i) {
    longest_gap = std::max(longest_gap, stamps[i] - stamps[i - 1]);
  }
  EXPECT_GE(longest_gap, 900'000'000) << "the function kept running while frozen";
  std::remove(log.c_str());
}

// The real cgroup tree of this host (needs root): each call in a cgroup of its
// own, under a parent of this test's so parallel tests keep apart.
class ProcessCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "making cgroups needs root";
    parent_ = absl::StrCat("/fsched-test-", ::getpid());
    ASSERT_TRUE(cgroups_.Create(parent_).ok());
    runtime_.emplace();
    runtime_->set_cgroups(&cgroups_, parent_, 64);
  }
  void TearDown() override {
    runtime_.reset();  // removes its idle cgroups
    if (!parent_.empty()) cgroups_.RemoveIfEmpty(parent_);
  }
  // The call's cgroup in `controller`, from the kernel's record of `pid`.
  static std::string CgroupOf(pid_t pid, absl::string_view controller) {
    std::string text = ReadKernelFile(absl::StrCat("/proc/", pid, "/cgroup")).value_or("");
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
      if (parts.size() != 3) continue;
      for (absl::string_view c : absl::StrSplit(parts[1], ',')) {
        if (c == controller || (parts[1].empty() && controller.empty())) return parts[2];
      }
    }
    return "";
  }

  Cgroups cgroups_;
  std::string parent_;
  std::optional<ProcessRuntime> runtime_;
  RunControl never_;
};

TEST_F(ProcessCgroupTest, TheFunctionIsInItsCgroupWithItsLimitsBeforeItRuns) {
  ExecRequest req = Sh("cat /proc/self/cgroup; sleep 0.3");
  req.function.mutable_limits()->set_memory_bytes(64 << 20);
  req.function.mutable_limits()->set_cpu_cores(0.5);
  std::string memory_cgroup, cpu_cgroup;
  uint64_t memory_limit = 0, cpu_quota = 0, pids_max = 0;
  req.on_start = [&](pid_t pid) {
    memory_cgroup = CgroupOf(pid, cgroups_.unified() ? "" : "memory");
    cpu_cgroup = CgroupOf(pid, cgroups_.unified() ? "" : "cpu");
    const std::string root = cgroups_.root();
    if (cgroups_.unified()) {
      memory_limit = ReadKernelNumber(root + memory_cgroup + "/memory.max").value_or(0);
      pids_max = ReadKernelNumber(root + memory_cgroup + "/pids.max").value_or(0);
    } else {
      memory_limit =
          ReadKernelNumber(root + "/memory" + memory_cgroup + "/memory.limit_in_bytes").value_or(0);
      cpu_quota = ReadKernelNumber(root + "/cpu" + cpu_cgroup + "/cpu.cfs_quota_us").value_or(0);
      pids_max = ReadKernelNumber(root + "/pids" + memory_cgroup + "/pids.max").value_or(0);
    }
  };
  ExecResult r = runtime_->Run(req, never_);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  EXPECT_THAT(memory_cgroup, ::testing::StartsWith(absl::StrCat(parent_, "/w", ::getpid(), "-")));
  EXPECT_EQ(cpu_cgroup, memory_cgroup);
  EXPECT_EQ(memory_limit, 64u << 20);
  if (!cgroups_.unified()) {
    EXPECT_EQ(cpu_quota, 50000u);
  }
  EXPECT_EQ(pids_max, 64u);
  // The function saw itself there from its first instruction.
  EXPECT_THAT(r.stdout_data, HasSubstr(memory_cgroup));
  // The next call reuses the emptied cgroup, with its own limits.
  ExecRequest next = Sh("cat /proc/self/cgroup; sleep 0.05");
  std::string next_cgroup;
  next.on_start = [&](pid_t pid) {
    next_cgroup = CgroupOf(pid, cgroups_.unified() ? "" : "memory");
    memory_limit =
        cgroups_.unified()
            ? 0
            : ReadKernelNumber(cgroups_.root() + "/memory" + next_cgroup + "/memory.limit_in_bytes")
                  .value_or(0);
  };
  r = runtime_->Run(next, never_);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  EXPECT_EQ(next_cgroup, memory_cgroup);
  if (!cgroups_.unified()) {
    EXPECT_GT(memory_limit, uint64_t{1} << 40);  // no limit
  }
}

TEST_F(ProcessCgroupTest, ConcurrentCallsGetCgroupsOfTheirOwnAndTheyGoWithTheRuntime) {
  auto runtime = std::make_unique<ProcessRuntime>();
  runtime->set_cgroups(&cgroups_, parent_, 64);
  std::string first, second;
  std::thread other([&] {
    ExecRequest req = Sh("sleep 0.3");
    req.on_start = [&](pid_t pid) { first = CgroupOf(pid, cgroups_.unified() ? "" : "pids"); };
    runtime->Run(req, never_);
  });
  absl::SleepFor(absl::Milliseconds(100));
  ExecRequest req = Sh("sleep 0.05");  // still alive when on_start reads its cgroup
  req.on_start = [&](pid_t pid) { second = CgroupOf(pid, cgroups_.unified() ? "" : "pids"); };
  runtime->Run(req, never_);
  other.join();
  EXPECT_THAT(first, ::testing::StartsWith(absl::StrCat(parent_, "/w", ::getpid(), "-")));
  EXPECT_THAT(second, ::testing::StartsWith(absl::StrCat(parent_, "/w", ::getpid(), "-")));
  EXPECT_NE(first, second);
  const std::string pids_root = cgroups_.root() + (cgroups_.unified() ? "" : "/pids");
  EXPECT_TRUE(std::filesystem::exists(pids_root + first));
  runtime.reset();
  EXPECT_FALSE(std::filesystem::exists(pids_root + first));
  EXPECT_FALSE(std::filesystem::exists(pids_root + second));
}

TEST_F(ProcessCgroupTest, MemoryBeyondTheLimitIsAnOomKillNamedAsSuch) {
  ExecRequest req;
  req.invocation_id = "inv-oom";
  req.function.set_name("hog");
  req.function.mutable_limits()->set_memory_bytes(32 << 20);
  req.argv = {"python3", "-c", "x = b'x' * (256 << 20)"};
  req.timeout = absl::Seconds(30);
  ExecResult r = runtime_->Run(req, never_);
  EXPECT_EQ(r.outcome, v1::OUTCOME_OOM_KILLED) << r.message << r.stderr_data;
  EXPECT_THAT(r.message, HasSubstr("memory limit of 32 MiB"));
  // Without a limit the same call is fine.
  req.function.clear_limits();
  r = runtime_->Run(req, never_);
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
}

// A file in a tmpfs stays charged to the cgroup of the call that wrote it;
// without swap the kernel cannot then lower that cgroup's limit below it, so
// the next call with a smaller limit gets a fresh cgroup instead of failing.
TEST_F(ProcessCgroupTest, ACgroupThatCannotTakeTheNextLimitIsReplaced) {
  const std::string file = absl::StrCat("/dev/shm/fsched-cgroup-test-", ::getpid());
  std::string first, second;
  ExecRequest fill = Sh("head -c 67108864 /dev/zero > " + file + "; sleep 0.05");
  fill.on_start = [&](pid_t pid) { first = CgroupOf(pid, cgroups_.unified() ? "" : "memory"); };
  ExecResult r = runtime_->Run(fill, never_);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  ExecRequest small = Sh("echo fits; sleep 0.05");
  small.function.mutable_limits()->set_memory_bytes(32 << 20);
  small.on_start = [&](pid_t pid) { second = CgroupOf(pid, cgroups_.unified() ? "" : "memory"); };
  r = runtime_->Run(small, never_);
  std::remove(file.c_str());
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "fits\n");
  EXPECT_THAT(second, ::testing::StartsWith(parent_ + "/w"));
  if (!cgroups_.unified()) {
    EXPECT_NE(first, second) << "the charged cgroup was kept although its limit could not be set";
  }
}

TEST_F(ProcessCgroupTest, ProcessesThatLeftTheProcessGroupDoNotOutliveTheCall) {
  // setsid puts the sleeper out of the function's process group: only the
  // cgroup still knows it belongs to this call.
  ExecResult r = runtime_->Run(Sh("setsid sleep 30 > /dev/null 2>&1 & echo $!"), never_);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  const int pid = std::stoi(r.stdout_data);
  // It was killed before Run returned; the kernel may still be reaping it.
  const std::string stat = ReadKernelFile(absl::StrCat("/proc/", pid, "/stat")).value_or("");
  EXPECT_TRUE(stat.empty() || stat.find(") Z ") != std::string::npos) << stat;
}

TEST_F(ProcessCgroupTest, WhatAnEarlierWorkerLeftBehindIsKilledAndRemoved) {
  const std::string leftover = parent_ + "/w999999999-7";                    // no such worker pid
  const std::string alive = absl::StrCat(parent_, "/w", ::getppid(), "-0");  // another worker's
  ASSERT_TRUE(cgroups_.Create(alive).ok());
  ASSERT_TRUE(cgroups_.Create(leftover).ok());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("sleep", "sleep", "30", nullptr);
    ::_exit(127);
  }
  ASSERT_TRUE(WriteKernelFile(cgroups_.root() + (cgroups_.unified() ? "" : "/pids") + leftover +
                                  "/cgroup.procs",
                              absl::StrCat(pid))
                  .ok());
  ProcessRuntime restarted;
  restarted.set_cgroups(&cgroups_, parent_, 64);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(cgroups_.Processes(leftover).empty());
  const std::string pids_root = cgroups_.root() + (cgroups_.unified() ? "" : "/pids");
  EXPECT_FALSE(std::filesystem::exists(pids_root + leftover));
  EXPECT_TRUE(std::filesystem::exists(pids_root + alive));  // its worker still runs
  cgroups_.RemoveIfEmpty(alive);
}

TEST_F(ProcessCgroupTest, AnUnprivilegedFunctionStillJoinsItsCgroup) {
  ChildIdentity nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  runtime_->set_identity(nobody);
  std::string cgroup;
  ExecRequest req = Sh("id -u; sleep 0.05");
  req.on_start = [&](pid_t pid) { cgroup = CgroupOf(pid, cgroups_.unified() ? "" : "pids"); };
  ExecResult r = runtime_->Run(req, never_);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  EXPECT_THAT(r.stdout_data, ::testing::StartsWith("65534\n"));
  EXPECT_THAT(cgroup, ::testing::StartsWith(parent_ + "/"));
}

}  // namespace
}  // namespace fsched::worker
