// One OCI container whose init is fsched-shim, run by a ContainerEngine
// (runc or containerd): made ahead (pre-warmed), started at the latest on demand, then
// serving calls one at a time over its stdin/stdout until it is destroyed.
// Cold, pre-warmed and warm invocations are the same object at different
// points of its life.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"
#include "worker/cgroup.h"
#include "worker/container_engine.h"
#include "worker/fd.h"
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
  absl::Duration start_timeout = absl::Seconds(10);
  absl::Duration cancel_grace =
      absl::Seconds(2);  // a call that ignores a kill this long is a dead shim
};

/// Where the shim is mounted inside every container (a tmpfs, so nothing is
/// written to the function's root filesystem).
inline constexpr char kShimMountPoint[] = "/dev/.fsched-shim";

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

  /// Starts the init, then waits for the shim's ready frame.
  absl::Status Start();

  struct CallResult {
    ExecResult result;
    bool crashed = false;  // the shim died: this instance is unusable
  };
  /// Runs one invocation in the started container. Timeout, cancel and
  /// freezing (the engine's pause/resume) follow RunControl as in RunChild.
  CallResult Call(const ExecRequest& request, const RunControl& control);

  /// The container killed and deleted, its bundle removed. Idempotent.
  void Destroy();

  bool served() const override { return served_; }
  bool started() const { return started_; }
  const std::string& id() const { return instance_.id; }
  /// Host PID of the shim; -1 until started (runc: created).
  pid_t init_pid() const { return instance_.init_pid; }
  const std::string& cgroup() const { return cgroup_; }
  /// The last lines the engine and the shim wrote to stderr (for error messages).
  std::string LogTail() const;

 private:
  Container(const ContainerOptions& options, std::string id, std::string bundle);
  // Logs a failed freeze or thaw; true when it took effect.
  bool Freeze(bool frozen) const;
  enum class ReadResult { kReply, kTimeout, kBroken };
  // Reads one reply frame by `deadline`; kBroken at EOF or a malformed frame.
  ReadResult ReadReply(shim::Reply* reply, absl::Time deadline);

  const ContainerOptions options_;
  EngineInstance instance_;
  std::string cgroup_;
  uint64_t memory_limit_ = 0;
  Fd requests_;        // our end of the shim's stdin
  Fd replies_;         // our end of the shim's stdout
  Fd child_stdio_[3];  // the shim's ends, held until the engine has started it
  std::string reply_buffer_;
  bool started_ = false;
  bool served_ = false;
  bool destroyed_ = false;
};

}  // namespace fsched::worker
