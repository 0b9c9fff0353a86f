// One OCI container whose init is fsched-shim, run by a ContainerEngine
// (runc or containerd): made ahead (pre-warmed), started at the latest on demand, then
// serving calls one at a time over its stdin/stdout until it is destroyed.
// For a persistent function the shim runs the function's instance once
// (--instance) and the container's stdin/stdout carry the instance protocol;
// its stderr is the function's log.
// Cold, pre-warmed and warm invocations are the same object at different
// points of its life.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"
#include "worker/cgroup.h"
#include "worker/container_engine.h"
#include "worker/fd.h"
#include "worker/persistent_instance.h"
#include "worker/rootfs_cache.h"
#include "worker/runtime.h"
#include "worker/shim/protocol.h"
#include "worker/warm_pool.h"

namespace fsched::worker {

struct ContainerOptions {
  const ContainerEngine* engine = nullptr;
  std::string bundles_dir;            // absolute: one directory (pid file, logs) per container
  std::string shim_path;              // absolute path of fsched-shim on the host
  uint32_t uid = 65534, gid = 65534;  // "nobody": functions do not run as root
  const Cgroups* cgroups = nullptr;
  std::string runtimes_dir;  // the language runtimes on the host, mounted for persistent functions
  std::vector<int> cpus;     // the shim runs on these (shim::kCpusFlag); empty = as started
  bool sched_batch = false;  // the shim switches to SCHED_BATCH
  absl::Duration start_timeout = absl::Seconds(10);
  absl::Duration cancel_grace =
      absl::Seconds(2);  // a call that ignores a kill this long is a dead shim
};

/// Where the shim is mounted inside every container (a tmpfs, so nothing is
/// written to the function's root filesystem).
inline constexpr char kShimMountPoint[] = "/dev/.fsched-shim";
/// Where the language runtimes are mounted (read-only) for a persistent function.
inline constexpr char kRuntimesMountPoint[] = "/dev/.fsched-runtimes";

class Container final : public PooledInstance {
 public:
  /// Creates the container with its init waiting. `root` is the root
  /// filesystem directory, or the image for an engine that uses images.
  /// FAILED_PRECONDITION when the root is missing, INTERNAL with the engine's
  /// own words when it refuses.
  static absl::StatusOr<std::unique_ptr<Container>> Create(const ContainerOptions& options,
                                                           const v1::FunctionSpec& function,
                                                           const std::string& root,
                                                           const std::string& id);
  ~Container() override;

  /// Starts the init, then waits for the shim's ready frame (an exec
  /// function's container; a persistent one's instance says ready to
  /// StartInstance).
  absl::Status Start();
  /// A persistent function's container: starts it if it is not yet and
  /// waits for its instance to be ready. False with `failure` saying why
  /// (START_FAILED, INIT_FAILED, CANCELLED); the container is then unusable.
  bool StartInstance(absl::Duration init_timeout, uint64_t log_limit_bytes,
                     const RunControl& control, ExecResult* failure);
  /// The ready instance of a persistent function's container, else null.
  PersistentInstance* instance() const { return instance_process_.get(); }
  /// Pauses or resumes the whole container; logs a failure, true when it took effect.
  bool Freeze(bool frozen) const;

  struct CallResult {
    ExecResult result;
    bool crashed = false;  // the shim died: this instance is unusable
  };
  /// Runs one invocation in the started container. Timeout, cancel and
  /// freezing (the engine's pause/resume) follow RunControl as in RunChild.
  CallResult Call(const ExecRequest& request, const RunControl& control);

  /// The container killed and deleted, its bundle removed. Idempotent.
  void Destroy();
  /// Keeps the root filesystem on disk until the container is gone.
  void HoldRoot(RootfsCache::Lease root) { root_ = std::move(root); }

  bool served() const override {
    return served_ || (instance_process_ != nullptr && instance_process_->served());
  }
  bool started() const { return started_; }
  const std::string& id() const { return instance_.id; }
  /// Host PID of the shim; -1 until started (runc: created).
  pid_t init_pid() const { return instance_.init_pid; }
  const std::string& cgroup() const { return cgroup_; }
  /// The last lines the engine and the shim wrote to stderr (for error messages).
  std::string LogTail() const;

 private:
  Container(const ContainerOptions& options, std::string id, std::string bundle);
  enum class ReadResult { kReply, kTimeout, kBroken };
  // Reads one reply frame by `deadline`; kBroken at EOF or a malformed frame.
  ReadResult ReadReply(shim::Reply* reply, absl::Time deadline);

  RootfsCache::Lease root_;  // released last, after the container is deleted
  const ContainerOptions options_;
  EngineInstance instance_;
  std::string cgroup_;
  uint64_t memory_limit_ = 0;
  Fd requests_;                   // our end of the shim's stdin
  Fd replies_;                    // our end of the shim's stdout
  Fd child_stdio_[3];             // the shim's ends, held until the engine has started it
  Fd log_;                        // persistent: our end of the container's stderr
  mutable std::string log_text_;  // what was read from log_ for LogTail
  std::unique_ptr<PersistentInstance> instance_process_;
  std::string reply_buffer_;
  bool started_ = false;
  bool served_ = false;
  bool destroyed_ = false;
};

}  // namespace fsched::worker
