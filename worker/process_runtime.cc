#include "worker/process_runtime.h"

#include "absl/strings/str_cat.h"
#include "worker/child_process.h"

namespace fsched::worker {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

ExecResult ProcessRuntime::Run(const ExecRequest& request, const RunControl& control) {
  if (request.argv.empty() || request.argv[0].empty()) {
    ExecResult result;
    result.mode = v1::EXECUTION_MODE_COLD;
    result.outcome = v1::OUTCOME_START_FAILED;
    result.message = "the function has no command";
    return result;
  }
  ChildSpec spec;
  spec.argv = request.argv;
  bool has_path = false;
  for (const auto& [key, value] : request.env) {
    spec.env.push_back(absl::StrCat(key, "=", value));
    has_path |= key == "PATH";
  }
  if (!has_path) spec.env.push_back(absl::StrCat("PATH=", kDefaultPath));
  spec.env.push_back(absl::StrCat("FSCHED_INVOCATION_ID=", request.invocation_id));
  spec.env.push_back(absl::StrCat("FSCHED_FUNCTION=", request.function.name()));
  spec.working_dir = request.working_dir;
  if (const std::string& digest = request.function.rootfs_digest(); !digest.empty()) {
    absl::StatusOr<std::string> dir =
        archives_ != nullptr ? archives_->Get(digest)
                             : absl::FailedPreconditionError(absl::StrCat(
                                   "function ", request.function.name(), " names archive ", digest,
                                   ", and this worker has no master to fetch it from"));
    if (!dir.ok()) {
      ExecResult result;
      result.outcome = v1::OUTCOME_START_FAILED;
      result.message = std::string(dir.status().message());
      return result;
    }
    spec.working_dir =
        spec.working_dir.empty() || spec.working_dir[0] != '/'
            ? absl::StrCat(*dir, spec.working_dir.empty() ? "" : "/", spec.working_dir)
            : spec.working_dir;
  }
  spec.stdin_data = request.stdin_data;
  spec.timeout = request.timeout;
  spec.output_limit_bytes = request.output_limit_bytes;
  spec.identity = identity_;
  // The default hooks act on the child's process group: SIGSTOP/SIGCONT to
  // freeze, SIGKILL to stop.
  ChildHooks hooks;
  hooks.started = request.on_start;
  return RunChild(spec, control, hooks);
}

}  // namespace fsched::worker
