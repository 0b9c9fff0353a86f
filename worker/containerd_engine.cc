#include "worker/containerd_engine.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "worker/child_process.h"
#include "worker/shim/protocol.h"

namespace fsched::worker {
namespace {

constexpr int64_t kCpuPeriodUs = 100000;

// Runs a removal step of container `id`; one with nothing to remove is fine.
void RemovalStep(const std::vector<std::string>& argv, const std::string& id) {
  const absl::Status s = RunTool(argv).status();
  if (s.ok() || absl::StrContains(s.message(), "not found") ||
      absl::StrContains(s.message(), "no running task")) {
    return;
  }
  FSCHED_LOG(kWarning, "container %s: %s", id, s.message());
}

// Waits for `pid` to exit for up to `timeout`; true when it did (and is reaped).
bool Reap(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

}  // namespace

std::vector<std::string> ContainerdEngine::Command(std::initializer_list<std::string> args) const {
  std::vector<std::string> argv = {options_.ctr, "--address", options_.address, "--namespace",
                                   options_.ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

absl::Status ContainerdEngine::Check() const {
  // No socket, no daemon: said at once rather than after ctr's dial timeout.
  struct stat st {};
  if (::stat(options_.address.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no containerd socket at ", options_.address,
        " (apt-get install containerd and start it, or on K3s set worker.containerd_address to "
        "/run/k3s/containerd/containerd.sock)"));
  }
  if (absl::StatusOr<std::string> v = RunTool(
          {options_.ctr, "--address", options_.address, "--connect-timeout", "3s", "version"},
          absl::Seconds(10));
      !v.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("containerd is not reachable at ", options_.address,
                     " (apt-get install containerd, or on K3s set worker.containerd_address to "
                     "/run/k3s/containerd/containerd.sock): ",
                     v.status().message()));
  }
  return absl::OkStatus();
}

std::string ContainerdEngine::Cgroup(const std::string& id) const {
  return absl::StrCat("/", options_.ns, "/", id);
}

std::vector<std::string> ContainerdEngine::CreateCommand(const ContainerSpec& spec,
                                                         const EngineInstance& instance) const {
  std::vector<std::string> argv = Command({"containers", "create"});
  if (!options_.snapshotter.empty()) {
    argv.insert(argv.end(), {"--snapshotter", options_.snapshotter});
  }
  if (spec.readonly_rootfs) argv.push_back("--read-only");
  if (spec.network) argv.push_back("--net-host");
  argv.insert(argv.end(), {"--cwd", spec.cwd});
  for (const std::string& kv : ContainerEnv(spec.env)) argv.insert(argv.end(), {"--env", kv});
  if (spec.memory_bytes > 0) {
    argv.insert(argv.end(), {"--memory-limit", absl::StrCat(spec.memory_bytes)});
  }
  if (spec.cpu_cores > 0) {
    const auto quota = static_cast<int64_t>(std::llround(spec.cpu_cores * kCpuPeriodUs));
    argv.insert(argv.end(),
                {"--cpu-quota", absl::StrCat(quota), "--cpu-period", absl::StrCat(kCpuPeriodUs)});
  }
  // The image's root is read-only; /tmp is the one writable place, as with runc.
  argv.insert(argv.end(),
              {"--mount", "type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:mode=1777"});
  for (const BindMount& bind : spec.binds) {
    argv.insert(argv.end(),
                {"--mount", absl::StrCat("type=bind,src=", bind.source, ",dst=", bind.destination,
                                         ",options=rbind:", bind.readonly ? "ro" : "rw")});
  }
  argv.insert(argv.end(), {"--label", "fsched.io/managed=true", instance.image, instance.id});
  // After "--" nothing is read as a ctr flag. ctr cannot set the process's
  // user, so the shim drops to it before serving: its flag goes first, before
  // an instance's command.
  argv.push_back("--");
  argv.push_back(spec.argv.empty() ? "" : spec.argv[0]);
  if (spec.uid != 0 || spec.gid != 0) {
    argv.push_back(absl::StrCat(std::string(shim::kUserFlag), spec.uid, ":", spec.gid));
  }
  if (!spec.argv.empty()) argv.insert(argv.end(), spec.argv.begin() + 1, spec.argv.end());
  return argv;
}

absl::Status ContainerdEngine::Create(const ContainerSpec& spec, EngineInstance& instance,
                                      const int[3]) const {
  instance.pids_limit = spec.pids_limit;
  absl::Status s = RunTool(CreateCommand(spec, instance)).status();
  if (s.ok()) return s;
  if (absl::StrContains(s.message(), "not found") && absl::StrContains(s.message(), "image")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "image ", instance.image, " is not in containerd namespace ", options_.ns, " at ",
        options_.address, "; put it there first: ctr --address ", options_.address, " --namespace ",
        options_.ns, " images pull (or import) ", instance.image));
  }
  return s;
}

absl::Status ContainerdEngine::Start(EngineInstance& instance, const int stdio[3]) const {
  const std::string pid_file = instance.bundle + "/init.pid";
  // Foreground: this ctr relays the shim's stdin and stdout for as long as
  // the container runs, and ends with it.
  pid_t pid = -1;
  if (const int error = SpawnChild(Command({"tasks", "start", "--pid-file", pid_file, instance.id}),
                                   {kToolPath}, stdio, "", &pid);
      error != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", options_.ctr, ": ", std::strerror(error)));
  }
  instance.attach_pid = pid;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (instance.init_pid <= 0) {
    std::ifstream(pid_file) >> instance.init_pid;
    if (instance.init_pid > 0) break;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      instance.attach_pid = -1;
      return absl::InternalError(absl::StrCat("ctr tasks start ", instance.id, " failed"));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("ctr tasks start ", instance.id, " wrote no pid within 10s"));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (options_.cgroups != nullptr && instance.pids_limit > 0) {
    // ctr has no flag for it; the cgroup exists once the task does.
    return options_.cgroups->SetPidsMax(Cgroup(instance.id), instance.pids_limit);
  }
  return absl::OkStatus();
}

absl::Status ContainerdEngine::Freeze(const EngineInstance& instance, bool frozen) const {
  return RunTool(Command({"tasks", frozen ? "pause" : "resume", instance.id}), absl::Seconds(10))
      .status();
}

void ContainerdEngine::Remove(EngineInstance& instance) const {
  // The shim never sees EOF through ctr's relay, so the task is killed.
  RemovalStep(Command({"tasks", "kill", "--signal", "SIGKILL", instance.id}), instance.id);
  if (instance.attach_pid > 0) {
    if (!Reap(instance.attach_pid, absl::Seconds(5))) {
      ::kill(instance.attach_pid, SIGKILL);
      Reap(instance.attach_pid, absl::Seconds(5));
    }
    instance.attach_pid = -1;
  }
  // The foreground ctr deletes the task it started when it ends; one it
  // never ended (killed above) leaves it.
  RemovalStep(Command({"tasks", "delete", "--force", instance.id}), instance.id);
  RemovalStep(Command({"containers", "delete", instance.id}), instance.id);
}

absl::StatusOr<std::vector<std::string>> ContainerdEngine::ListIds() const {
  absl::StatusOr<std::string> ids = RunTool(Command({"containers", "list", "--quiet"}));
  if (!ids.ok()) return ids.status();
  return absl::StrSplit(*ids, '\n', absl::SkipWhitespace());
}

}  // namespace fsched::worker
