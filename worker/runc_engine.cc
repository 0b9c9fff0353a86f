#include "worker/runc_engine.h"

#include <fcntl.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "worker/child_process.h"

namespace fsched::worker {

std::vector<std::string> RuncEngine::Command(std::initializer_list<std::string> args) const {
  std::vector<std::string> argv = {options_.runc, "--root", options_.root};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

absl::Status RuncEngine::Check() const {
  if (absl::StatusOr<std::string> v = RunTool({options_.runc, "--version"}); !v.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("runc is not usable (apt-get install runc): ", v.status().message()));
  }
  return absl::OkStatus();
}

std::string RuncEngine::Cgroup(const std::string& id) const {
  return absl::StrCat("/", options_.cgroup_parent, "/", id);
}

absl::Status RuncEngine::Create(const ContainerSpec& spec, EngineInstance& instance,
                                const int stdio[3]) const {
  {
    std::ofstream config(instance.bundle + "/config.json");
    config << OciConfigJson(spec);
    if (!config) {
      return absl::InternalError(absl::StrCat("cannot write ", instance.bundle, "/config.json"));
    }
  }
  const std::string pid_file = instance.bundle + "/init.pid";
  pid_t pid = -1;
  if (const int error = SpawnChild(
          Command({"create", "--bundle", instance.bundle, "--pid-file", pid_file, instance.id}),
          {kToolPath}, stdio, "", &pid);
      error != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", options_.runc, ": ", std::strerror(error)));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // runc wrote its complaint to stdio[2], the bundle's stderr.log.
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("runc create ", instance.id, " failed"));
  }
  std::ifstream(pid_file) >> instance.init_pid;
  if (instance.init_pid <= 0) {
    return absl::InternalError(absl::StrCat("runc create ", instance.id, " wrote no init pid"));
  }
  return absl::OkStatus();
}

absl::Status RuncEngine::Start(EngineInstance& instance, const int[3]) const {
  return RunTool(Command({"start", instance.id})).status();
}

absl::Status RuncEngine::Freeze(const EngineInstance& instance, bool frozen) const {
  return RunTool(Command({frozen ? "pause" : "resume", instance.id}), absl::Seconds(10)).status();
}

void RuncEngine::Remove(EngineInstance& instance) const {
  absl::Status s = RunTool(Command({"delete", "--force", instance.id})).status();
  // Never created (runc create failed early) is not worth a warning.
  if (!s.ok() && !absl::StrContains(s.message(), "does not exist")) {
    FSCHED_LOG(kWarning, "container %s: %s", instance.id, s.message());
  }
}

absl::StatusOr<std::vector<std::string>> RuncEngine::ListIds() const {
  absl::StatusOr<std::string> ids = RunTool(Command({"list", "--quiet"}));
  if (!ids.ok()) return ids.status();
  return absl::StrSplit(*ids, '\n', absl::SkipWhitespace());
}

}  // namespace fsched::worker
