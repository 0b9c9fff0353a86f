#include "worker/worker_config.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "worker/cpu_affinity.h"

namespace fsched::worker {

absl::Status ValidateWorkerConfig(const Config& config) {
  const WorkerConfig& w = config.worker();
  if (w.runtime() != v1::RUNTIME_KIND_PROCESS && w.runtime() != v1::RUNTIME_KIND_RUNC) {
    return absl::InvalidArgumentError("config: worker.runtime: must be process or runc");
  }
  if (w.runtime() == v1::RUNTIME_KIND_RUNC && w.runc() == config::v1::SWITCH_OFF) {
    return absl::InvalidArgumentError("config: worker.runtime: is runc but worker.runc is off");
  }
  if ((w.function_uid() == 0 || w.function_gid() == 0) && !w.functions_as_root()) {
    return absl::InvalidArgumentError(
        "config: worker.function_uid: functions do not run as root (uid or gid 0) unless "
        "worker.functions_as_root is set");
  }
  for (int i = 0; i < w.rootfs_dirs_size(); ++i) {
    const std::string& dir = w.rootfs_dirs(i);
    if (dir.empty() || dir[0] != '/' || std::filesystem::path(dir).lexically_normal() == "/") {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: worker.rootfs_dirs[", i, "]: '", dir,
          "' must be an absolute directory other than / (functions' root filesystems live there)"));
    }
  }
  if (!w.runtimes_dir().empty() && w.runtimes_dir()[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("config: worker.runtimes_dir: '", w.runtimes_dir(),
                     "' must be an absolute directory (or empty for the one next to "
                     "fsched-worker)"));
  }
  if (!w.cpus().empty()) {
    if (absl::StatusOr<std::vector<int>> cpus = ParseCpuList(w.cpus()); !cpus.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: worker.cpus: ", cpus.status().message()));
    }
  }
  if (FromProto(w.reconnect_min()) > FromProto(w.reconnect_max())) {
    return absl::InvalidArgumentError(
        "config: worker.reconnect_min: must not exceed worker.reconnect_max");
  }
  return absl::OkStatus();
}

}  // namespace fsched::worker
