// Runs functions in OCI containers through a ContainerEngine (runc, or
// containerd for image-based functions), in three modes: cold (a container
// made for the call), pre-warmed (made ahead and never used: created, or
// with containerd also started) and warm (a container that served a call).
// A persistent function's container holds one initialised instance: it is
// pre-warmed started and ready, and a warm call is one frame each way. Idle instances live in a
// WarmPool; one background thread creates pre-warmed instances, expires idle ones and destroys used
// ones, so no slot waits for a container's removal.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "worker/cgroup.h"
#include "worker/container.h"
#include "worker/container_engine.h"
#include "worker/cpu_priority.h"
#include "worker/instance_pool.h"
#include "worker/rootfs_cache.h"
#include "worker/runtime.h"

namespace fsched::worker {

class ContainerRuntime final : public Runtime {
 public:
  struct Options {
    std::shared_ptr<const ContainerEngine> engine;
    v1::RuntimeKind kind = v1::RUNTIME_KIND_RUNC;
    // Absolute. Each worker process keeps its bundles in its own
    // subdirectory, so several workers can share one state directory.
    std::string state_dir;
    std::string shim_path;  // fsched-shim on the host
    std::string cgroup_root = "/sys/fs/cgroup";
    uint32_t uid = 65534, gid = 65534;
    absl::Duration default_keep_alive = absl::Minutes(10);  // when the function sets none
    uint64_t warm_memory_budget = 1ull << 30;
    uint64_t default_instance_memory = 64ull << 20;  // charged for a function without a limit
    RootfsCache* rootfs_cache = nullptr;  // root filesystems named by digest; null = none
    // Where a function's rootfs_path may lead (symlinks resolved); empty =
    // anywhere but the host's root, top-level and system directories.
    std::vector<std::string> rootfs_dirs;
    // The language runtimes on the host (mounted read-only into the
    // containers of functions that name a language).
    std::string runtimes_dir;
    // The worker's worker.cpus and worker.cpu_policy, set again by each
    // container's shim (shim::kCpusFlag says why inheriting is not enough).
    // Empty / false: the container keeps what it was started with.
    std::vector<int> cpus;
    bool sched_batch = false;
  };

  /// FAILED_PRECONDITION, with the reason, where the engine cannot run
  /// containers (not root, engine missing, no shim, "/" not a mount point).
  /// Removes containers a worker that died left in the same state directory.
  static absl::StatusOr<std::unique_ptr<ContainerRuntime>> Create(Options options);
  ~ContainerRuntime() override;

  std::string_view name() const override { return options_.engine->name(); }
  v1::RuntimeKind kind() const override { return options_.kind; }
  ExecResult Run(const ExecRequest& request, const RunControl& control) override;
  bool can_freeze() const override { return true; }

  /// Keeps at least `count` idle instances of `function` (pre-warmed), made in
  /// the background.
  void Prewarm(const v1::FunctionSpec& function, uint32_t count);
  /// Destroys the idle instances of `function`.
  void Evict(const std::string& function);
  /// Instances per function and mode (idle, and serving a call as warm).
  std::vector<v1::WarmInstance> WarmSet() const;
  /// The calls running now, with their containers' cgroups (for CPU priority).
  std::vector<RunningFunction> RunningFunctions() const;
  /// Blocks until the background thread has nothing queued (tests, shutdown).
  void WaitIdle();
  /// Containers that exist now (idle and running).
  size_t live_containers() const { return live_.load(); }
  const Cgroups& cgroups() const { return cgroups_; }

 private:
  explicit ContainerRuntime(Options options);
  // The root filesystem directory, or the image for an image engine; an
  // archive's is held by `lease` while the container lives.
  absl::StatusOr<std::string> Root(const v1::FunctionSpec& function,
                                   RootfsCache::Lease* lease) const;
  absl::StatusOr<std::unique_ptr<Container>> NewContainer(const v1::FunctionSpec& function);
  ExecResult RunPersistent(const ExecRequest& request, const RunControl& control);
  // The call's CPU slice and request.on_start for each process of the container.
  void CallStarts(const ExecRequest& request, const Container& container) const;
  void Keep(const v1::FunctionSpec& function, std::unique_ptr<Container> container);
  // On the pool's thread.
  void Destroy(std::unique_ptr<Container> container);

  const Options options_;
  Cgroups cgroups_;
  ContainerOptions container_options_;
  std::atomic<uint64_t> next_id_{0};
  std::atomic<size_t> live_{0};

  mutable absl::Mutex mu_;
  struct Call {
    std::string cgroup;
    double predicted_s = 0;
    absl::Time started;
  };
  absl::flat_hash_map<std::string, Call> running_ ABSL_GUARDED_BY(mu_);  // by invocation id
  Fd lock_;            // held while this worker lives: its containers are not leftovers
  InstancePool pool_;  // last: its thread uses the members above
};

}  // namespace fsched::worker
