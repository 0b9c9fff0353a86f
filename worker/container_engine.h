// What runs an OCI container for fsched: runc directly, or containerd through
// its `ctr` client. A Container drives one engine through create, start,
// freeze and removal; the engine knows the commands and where the container's
// cgroup lives. Engines hold no per-container state of their own (it lives in
// EngineInstance), so one engine serves every container of a runtime.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/oci_spec.h"

namespace fsched::worker {

/// One container as an engine sees it.
struct EngineInstance {
  std::string id;
  std::string bundle;       // a private directory: config, pid file, stderr.log
  std::string image;        // containerd: the image reference; runc uses spec.rootfs
  pid_t init_pid = -1;      // host PID of the container's init once it runs
  pid_t attach_pid = -1;    // an engine client holding the init's stdio; reaped at Remove
  uint64_t pids_limit = 0;  // a limit the engine applies at Start, not at Create
};

class ContainerEngine {
 public:
  virtual ~ContainerEngine() = default;
  virtual std::string_view name() const = 0;
  /// Whether a container's root comes from an image the engine holds
  /// (EngineInstance::image) rather than a directory (ContainerSpec::rootfs).
  virtual bool uses_images() const = 0;
  /// Whether pre-warmed containers are started ahead, not only created: where
  /// starting is most of a cold start (containerd's task and shim), not where
  /// it is cheap (`runc start`).
  virtual bool prewarm_starts() const = 0;

  /// FAILED_PRECONDITION, with what to do, where this engine cannot run here.
  virtual absl::Status Check() const = 0;

  /// Makes the container with its init not yet serving. `stdio` are the
  /// init's stdin, stdout and stderr: an engine whose init exists from create
  /// on (runc) takes them here, one that starts it later (containerd) at Start.
  virtual absl::Status Create(const ContainerSpec& spec, EngineInstance& instance,
                              const int stdio[3]) const = 0;
  /// Runs the init; sets instance.init_pid.
  virtual absl::Status Start(EngineInstance& instance, const int stdio[3]) const = 0;
  virtual absl::Status Freeze(const EngineInstance& instance, bool frozen) const = 0;
  /// Kills and deletes the container, whatever state it is in. Idempotent.
  virtual void Remove(EngineInstance& instance) const = 0;

  /// The container's cgroup path (the same in every v1 hierarchy).
  virtual std::string Cgroup(const std::string& id) const = 0;

  /// The ids of the containers the engine holds (those of other workers too).
  virtual absl::StatusOr<std::vector<std::string>> ListIds() const = 0;

  /// Removes every container whose id starts with `id_prefix`: what a worker
  /// that died left behind.
  void RemoveLeftovers(const std::string& id_prefix) const;
};

}  // namespace fsched::worker
