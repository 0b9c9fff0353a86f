#include "worker/child_process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

ChildSpec Shell(const std::string& script) {
  ChildSpec spec;
  spec.argv = {"sh", "-c", script};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.timeout = absl::Seconds(10);
  return spec;
}

// The identity path (clone, then limits and user before exec) behaves like
// posix_spawn for everything else: process group, stdin, output, exit codes.
TEST(ChildProcessTest, AnIdentitySetsLimitsAndTheUserBeforeExec) {
  ChildSpec spec = Shell("ulimit -n; ulimit -c; id -u; id -G; ps -o pgid= -p $$; cat");
  spec.identity.rlimits = {{RLIMIT_NOFILE, 64}, {RLIMIT_CORE, 0}};
  if (::geteuid() == 0) {
    spec.identity.uid = 65534;
    spec.identity.gid = 65534;
  }
  spec.stdin_data = "from stdin";
  RunControl control;
  std::atomic<pid_t> child{0};
  ChildHooks hooks;
  hooks.started = [&](pid_t pid) { child = pid; };
  ExecResult r = RunChild(spec, control, hooks);
  ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
  std::vector<std::string> lines = absl::StrSplit(r.stdout_data, '\n');
  ASSERT_GE(lines.size(), 6u) << r.stdout_data;
  EXPECT_EQ(lines[0], "64");
  EXPECT_EQ(lines[1], "0");
  if (::geteuid() == 0) {
    EXPECT_EQ(lines[2], "65534");
    EXPECT_EQ(lines[3], "65534") << "supplementary groups were kept";
  }
  EXPECT_EQ(std::string(absl::StripAsciiWhitespace(lines[4])), absl::StrCat(child.load()))
      << "not the leader of its own process group";
  EXPECT_EQ(lines[5], "from stdin");

  ChildSpec failing = Shell("exit 7");
  failing.identity.rlimits = {{RLIMIT_NOFILE, 64}};
  EXPECT_EQ(RunChild(failing, control).exit_code, 7);
}

TEST(ChildProcessTest, AnIdentitySpawnReportsTheStepThatFailed) {
  ChildIdentity identity;
  identity.rlimits = {{RLIMIT_NOFILE, 64}};
  const int stdio[3] = {0, 1, 2};
  pid_t pid = -1;
  EXPECT_EQ(SpawnChild({"/nonexistent/binary"}, {}, stdio, "", &pid, identity), ENOENT);
  EXPECT_EQ(SpawnChild({"true"}, {}, stdio, "/nonexistent/dir", &pid, identity), ENOENT);
  if (::geteuid() != 0) {
    identity.uid = 0;  // an unprivileged worker cannot become root
    EXPECT_EQ(SpawnChild({"true"}, {}, stdio, "", &pid, identity), EPERM);
  }
  ASSERT_EQ(SpawnChild({"true"}, {"PATH=/usr/bin:/bin"}, stdio, "/", &pid,
                       ChildIdentity{{}, 0, {{RLIMIT_NOFILE, 64}}, {}}),
            0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace fsched::worker
