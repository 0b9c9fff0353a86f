// Runs a function as a child process of the worker: posix_spawn of its argv in
// its own process group, as the configured user with its limits (set between
// fork and exec), with only the function's environment, payload on stdin,
// stdout/stderr captured up to a cap,
// killed (whole group) at its timeout, CPU time from wait4. With cgroups on,
// each call runs in a cgroup of its own (memory, cpu, pids) holding the
// function's memory and CPU limits, joined before exec; whatever is left in
// it when the call ends is killed, and an OOM kill is reported as such. The
// emptied cgroups are kept for later calls (making and removing three per
// call would cost more than the call). A
// function that names an archive (rootfs_digest: tasks do) runs in the
// directory where the worker unpacked it.
//
// A persistent function (FunctionSpec.lifetime, or a language runtime) runs
// in instances instead: a process started and initialised once, holding its
// cgroup for its life, serving calls over the instance protocol. Idle
// instances wait in a WarmPool (keep-alive, per-function cap, memory budget);
// a background thread pre-warms, expires and destroys them, so no call waits
// for an instance's removal.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "worker/cgroup.h"
#include "worker/child_process.h"
#include "worker/cpu_priority.h"
#include "worker/instance_pool.h"
#include "worker/persistent_instance.h"
#include "worker/rootfs_cache.h"
#include "worker/runtime.h"

namespace fsched::worker {

class ProcessRuntime final : public Runtime {
 public:
  ProcessRuntime();
  std::string_view name() const override { return "process"; }
  v1::RuntimeKind kind() const override { return v1::RUNTIME_KIND_PROCESS; }
  ExecResult Run(const ExecRequest& request, const RunControl& control) override;
  bool can_freeze() const override { return true; }
  /// Where archives named by digest come from (not owned; null = none).
  void set_archives(RootfsCache* archives) { archives_ = archives; }
  /// The user and limits every function runs with (before the first Run).
  void set_identity(ChildIdentity identity) { identity_ = std::move(identity); }
  /// Gives each call a cgroup under `parent` (e.g. "/fsched-functions") with
  /// at most `max_processes` tasks; not owned; before the first Run. Kills
  /// and removes what a previous worker left under `parent`.
  void set_cgroups(const Cgroups* cgroups, std::string parent, uint64_t max_processes);
  /// Where the language runtimes shipped with fsched live
  /// (<dir>/python/fsched_runtime.py, <dir>/node/fsched_runtime.js).
  void set_runtimes_dir(std::string dir) { runtimes_dir_ = std::move(dir); }
  /// Idle persistent instances: kept this long when the function sets no
  /// keep-alive, within this much memory in all.
  void set_warm(absl::Duration default_keep_alive, uint64_t memory_budget_bytes);
  ~ProcessRuntime() override;
  /// The calls running now with their cgroups (none without cgroups), for the
  /// shortest-remaining-first CPU weights.
  std::vector<RunningFunction> RunningFunctions() const;

  /// Keeps at least `count` idle instances of a persistent `function`, made
  /// in the background.
  void Prewarm(const v1::FunctionSpec& function, uint32_t count);
  /// Destroys the idle instances of `function`.
  void Evict(const std::string& function);
  /// Instances per function and mode: idle ones, and those serving a call
  /// (counted as warm: they are idle again when it ends).
  std::vector<v1::WarmInstance> WarmSet() const;
  /// Instances that exist now (idle and serving).
  size_t live_instances() const { return live_.load(); }
  /// Blocks until the background thread has nothing queued (tests, shutdown).
  void WaitIdle();

 private:
  class Instance;
  // How a function's process starts: argv, environment, directory, user.
  // `archive` holds the function's unpacked archive, if it names one, for as
  // long as the process uses it.
  absl::StatusOr<ChildSpec> BaseSpec(const v1::FunctionSpec& function,
                                     const std::map<std::string, std::string>& env,
                                     const std::string& working_dir,
                                     RootfsCache::Lease* archive) const;
  ExecResult RunPersistent(const ExecRequest& request, const RunControl& control);
  // A new initialised instance; null with `failure` filled when it cannot be.
  std::unique_ptr<Instance> NewInstance(const v1::FunctionSpec& function, uint64_t log_limit_bytes,
                                        const RunControl& control, ExecResult* failure);
  void Keep(const v1::FunctionSpec& function, std::unique_ptr<Instance> instance);
  // On the pool's thread.
  void Destroy(std::unique_ptr<Instance> instance);

  struct Call {
    std::string cgroup;
    double predicted_s = 0;
    absl::Time started;
  };
  // One call's cgroup, kept with its open cgroup.procs files and the limits
  // last written to it.
  struct CallCgroup {
    std::string path;
    std::vector<int> procs_fds;
    uint64_t memory_bytes = 0;
    double cpu_cores = 0;
  };
  // An idle cgroup (or a new one) set to `limits`.
  absl::StatusOr<std::unique_ptr<CallCgroup>> AcquireCgroup(const v1::ResourceLimits& limits);
  // `cgroup` (null: a new one) set to `limits`; removed when that fails.
  absl::StatusOr<std::unique_ptr<CallCgroup>> SetLimits(std::unique_ptr<CallCgroup> cgroup,
                                                        const v1::ResourceLimits& limits);
  // Empties it and keeps it for the next call (removes it if it cannot be emptied).
  void ReleaseCgroup(std::unique_ptr<CallCgroup> cgroup);
  // Kills what is in it; true once it is empty.
  bool Empty(const std::string& cgroup) const;
  void Remove(CallCgroup& cgroup) const;

  RootfsCache* archives_ = nullptr;
  ChildIdentity identity_;
  const Cgroups* cgroups_ = nullptr;
  std::string cgroup_parent_;
  uint64_t max_processes_ = 0;
  std::atomic<uint64_t> cgroups_made_{0};
  mutable absl::Mutex mu_;
  // By cgroup (exec calls), or by invocation (persistent: an instance's
  // cgroup may serve several calls at once).
  absl::flat_hash_map<std::string, Call> running_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<CallCgroup>> idle_cgroups_ ABSL_GUARDED_BY(mu_);

  std::string runtimes_dir_;
  std::atomic<size_t> live_{0};
  InstancePool pool_;  // last: its thread uses the members above
};

}  // namespace fsched::worker
