// A worker process assembled: runtimes, executor, host monitor, master link and
// its own gRPC service.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "common/config.h"
#include "common/host_stats.h"
#include "common/rpc.h"
#include "common/server.h"
#include "common/token_directory.h"
#include "routing/router.h"
#include "worker/container_runtime.h"
#include "worker/executor.h"
#include "worker/function_source.h"
#include "worker/master_link.h"
#include "worker/process_runtime.h"
#include "worker/resctrl.h"
#include "worker/worker_admin_service.h"
#include "worker/worker_metrics.h"
#include "worker/worker_service.h"
#include "worker/worker_state.h"

namespace fsched::http {
class HttpEntry;
}

namespace fsched::worker {

// Its master links, the router, its services and metrics see this node
// through their interfaces.
class WorkerNode : private MasterLinkCallbacks,
                   private routing::RouterCallbacks,
                   private WorkerState {
 public:
  /// Told once when a master refuses this worker for good (a wrong join token).
  using FatalFn = std::function<void(const absl::Status&)>;
  static constexpr int kExitUnauthenticated = 3;
  /// FAILED_PRECONDITION when worker.runc or worker.containerd is on (or
  /// worker.runtime is runc) and that engine cannot run containers here,
  /// with the reason.
  static absl::StatusOr<std::unique_ptr<WorkerNode>> Create(const Config& config, FatalFn fatal);
  ~WorkerNode();

  /// Binds config.listen(), then starts the master link (if a master is configured).
  absl::Status Start();
  void Shutdown();
  int port() const { return port_; }
  /// The bound metrics port; 0 when metrics are off.
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  int http_port() const;
  const std::string& worker_id() const { return worker_id_; }

 private:
  using RuntimeMap = absl::flat_hash_map<v1::RuntimeKind, Runtime*>;
  // Create's steps, in order.
  absl::Status PinToCpus();                    // worker.cpus, before any thread or process starts
  absl::Status ApplyCpuPolicy();               // worker.cpu_policy, likewise
  absl::StatusOr<RuntimeMap> BuildRuntimes();  // process, runc, containerd, CPU priority
  /// The user and limits of process functions (worker.function_*).
  absl::StatusOr<ChildIdentity> FunctionIdentity(const std::string& state_dir) const;
  // Per-call cgroups for process functions, as worker.process_cgroups says.
  absl::Status UseProcessCgroups();
  absl::Status BuildCache();      // resctrl partitions, where available
  absl::Status BuildCpuSlices();  // ALPS's learned slices, where the kernel takes them
  ResctrlOptions CacheOptions() const;
  void BuildExecutor(RuntimeMap runtimes);
  absl::Status BuildLinks(FatalFn fatal);  // master links, function source, routing
  void BuildServices();
  explicit WorkerNode(const Config& config);
  // MasterLinkCallbacks. Load samples the host (the CPU share is since the
  // previous sample) and reports it with the calls; pre-warm and evict go to
  // the container runtimes of the function's kind.
  v1::WorkerCapacity Capacity() override;
  v1::WorkerLoad Load() override;
  void OnPrewarm(const v1::Prewarm& prewarm) override;
  void OnEvict(const v1::Evict& evict) override;
  void OnMembership(const v1::Membership& membership) override;
  void OnTokens(const v1::TokenDirectory& tokens) override { tokens_.Replace(tokens); }
  void OnRefused(const absl::Status& status) override;
  // WorkerState (Load is MasterLinkCallbacks' too).
  v1::WorkerLoad ScrapeLoad() override;
  uint32_t Slots() override;
  uint64_t Waiting() override;
  std::string MasterAddress() override;
  bool MasterConnected() override;
  void Status(v1::WorkerStatus* out) override;
  v1::WorkerLoad CallsLoad();
  std::vector<ContainerRuntime*> ContainerRuntimes() const;
  std::vector<std::string> MasterAddresses();
  // routing::RouterCallbacks: the view from the pushed membership, the
  // executor's busy share, routed requests run on this worker's executor.
  std::shared_ptr<const routing::RouteView> View() override;
  double RoutingLoad() override;
  /// A worker's direct calls have no lasting id: `accepted` is not called.
  void ServeHere(const v1::InvokeRequest& request, const routing::RouteAccepted& accepted,
                 routing::RouteDone done) override;
  void OnEntryDone(v1::Architecture architecture,
                   const absl::StatusOr<v1::InvocationResult>& result,
                   absl::Duration elapsed) override;
  void RunWith(const v1::InvokeRequest& request, const v1::FunctionSpec& spec,
               routing::Router::Done done);

  Config config_;
  uint32_t pinned_cpus_ = 0;  // how many CPUs worker.cpus named; 0: not pinned
  // Declared first, so destroyed last: the executor and router record into
  // it until their threads are gone. Its endpoint stops in Shutdown.
  std::unique_ptr<WorkerMetrics> metrics_;  // null when metrics.listen is empty
  std::string worker_id_;
  HostMonitor host_;
  absl::Mutex host_mu_;
  std::optional<HostLoad> last_host_ ABSL_GUARDED_BY(host_mu_);
  ProcessRuntime process_runtime_;
  Cgroups cgroups_;                            // the host's, at /sys/fs/cgroup
  bool process_cgroups_ = false;               // process calls get cgroups
  std::unique_ptr<ResctrlAllocator> cache_;    // null without resctrl (or with it off)
  std::string cache_unavailable_;              // why there is none
  std::unique_ptr<CpuSlices> cpu_slices_;      // null where the kernel takes none (or off)
  std::unique_ptr<RootfsCache> rootfs_cache_;  // root filesystems by digest, from the master
  // Each null where its engine cannot run containers here (or is off).
  std::unique_ptr<ContainerRuntime> runc_runtime_;
  std::unique_ptr<ContainerRuntime> containerd_runtime_;
  std::unique_ptr<CpuPriorityLoop>
      cpu_priority_;  // with containers, unless worker.cpu_priority is off
  std::unique_ptr<Executor> executor_;
  FatalFn refused_;
  std::atomic<bool> refused_once_{false};
  std::unique_ptr<MasterLink> link_;  // to the master it joined (with zones, the one above them)
  std::unique_ptr<MasterLink> zone_link_;  // to its zone's master, once membership names one
  std::unique_ptr<FunctionSource> functions_;
  std::unique_ptr<routing::RoutingState> routing_;
  std::unique_ptr<routing::Router> router_;
  absl::Mutex membership_mu_;
  v1::Membership membership_ ABSL_GUARDED_BY(membership_mu_);
  std::atomic<uint64_t> direct_calls_{0};
  absl::Mutex direct_mu_;
  bool stopping_direct_ ABSL_GUARDED_BY(direct_mu_) = false;
  std::set<std::string> direct_running_ ABSL_GUARDED_BY(direct_mu_);
  // Callers of this worker's services: the cluster credential, and the tokens
  // its masters last sent (kept while they are away).
  TokenDirectory tokens_;
  std::unique_ptr<Gate> gate_;
  std::unique_ptr<WorkerService> service_;
  std::unique_ptr<WorkerAdminService> admin_service_;
  RunningServer server_;
  int port_ = 0;
  std::unique_ptr<http::HttpEntry> http_;  // null when http.listen is empty
};

}  // namespace fsched::worker
