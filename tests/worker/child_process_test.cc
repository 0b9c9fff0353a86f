#include "worker/child_process.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "absl/time/clock.h"

namespace fsched::worker {
namespace {

ChildSpec Sleep(const char* seconds, absl::Duration timeout) {
  ChildSpec spec;
  spec.argv = {"sleep", seconds};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.timeout = timeout;
  return spec;
}

// A container runtime stops and freezes the container through hooks; the
// supervisor calls them at the timeout and on pause/resume, with the child's pid.
TEST(ChildProcessTest, HooksStopAndFreezeInsteadOfTheDefaults) {
  std::atomic<pid_t> killed{0};
  ChildHooks hooks;
  hooks.kill = [&](pid_t pid) { killed = pid; };
  RunControl control;
  ExecResult r = RunChild(Sleep("5", absl::Milliseconds(200)), control, hooks);
  EXPECT_EQ(r.outcome, v1::OUTCOME_TIMEOUT);
  EXPECT_GT(killed.load(), 0);

  std::vector<bool> freezes;
  hooks.freeze = [&](pid_t pid, bool freeze) {
    EXPECT_GT(pid, 0);
    freezes.push_back(freeze);
    ::kill(-pid, freeze ? SIGSTOP : SIGCONT);  // still freeze, so the timing below holds
  };
  RunControl paused;
  std::thread steer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    paused.paused = true;
    absl::SleepFor(absl::Milliseconds(300));
    paused.paused = false;
  });
  r = RunChild(Sleep("0.2", absl::Seconds(10)), paused, hooks);
  steer.join();
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  EXPECT_EQ(freezes, (std::vector<bool>{true, false}));
  EXPECT_GE(r.paused, absl::Milliseconds(250));
}

}  // namespace
}  // namespace fsched::worker
