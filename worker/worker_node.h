// A worker process assembled: runtimes, executor, host monitor, master link and
// its own gRPC service.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <set>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/host_stats.h"
#include "common/rpc.h"
#include "common/server.h"
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

namespace fsched::worker {

class WorkerNode {
 public:
  using FatalFn = MasterLink::FatalFn;
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
  const std::string& worker_id() const { return worker_id_; }

 private:
  using RuntimeMap = absl::flat_hash_map<v1::RuntimeKind, Runtime*>;
  // Create's steps, in order.
  absl::StatusOr<RuntimeMap> BuildRuntimes();  // process, runc, containerd, CPU priority
  absl::Status BuildCache();                   // resctrl partitions, where available
  void BuildExecutor(RuntimeMap runtimes);
  absl::Status BuildLinks(FatalFn fatal);  // master links, function source, routing
  void BuildServices();
  explicit WorkerNode(const Config& config) : config_(config) {}
  v1::WorkerCapacity Capacity();
  /// Samples the host (the CPU share is since the previous sample) and reports it with the calls.
  v1::WorkerLoad Load();
  /// Load() as last sampled for a heartbeat, with current calls: a scrape
  /// must not move the heartbeat's CPU baseline.
  v1::WorkerLoad ScrapeLoad();
  v1::WorkerLoad CallsLoad();
  void Status(v1::WorkerStatus* out);
  std::vector<ContainerRuntime*> ContainerRuntimes() const;
  /// A master pushed membership: keep it, and follow this zone's master.
  void OnMembership(const v1::Membership& membership);
  std::shared_ptr<const routing::RouteView> View();
  std::vector<std::string> MasterAddresses();
  /// Runs a routed request on this worker's executor.
  void ServeHere(const v1::InvokeRequest& request, routing::Router::Done done);
  void RunWith(const v1::InvokeRequest& request, const v1::FunctionSpec& spec,
               routing::Router::Done done);

  Config config_;
  // Declared first, so destroyed last: the executor and router record into
  // it until their threads are gone. Its endpoint stops in Shutdown.
  std::unique_ptr<WorkerMetrics> metrics_;  // null when metrics.listen is empty
  std::string worker_id_;
  HostMonitor host_;
  absl::Mutex host_mu_;
  std::optional<HostLoad> last_host_ ABSL_GUARDED_BY(host_mu_);
  ProcessRuntime process_runtime_;
  Cgroups cgroups_;                            // the host's, at /sys/fs/cgroup
  std::unique_ptr<ResctrlAllocator> cache_;    // null without resctrl (or with it off)
  std::string cache_unavailable_;              // why there is none
  std::unique_ptr<RootfsCache> rootfs_cache_;  // root filesystems by digest, from the master
  // Each null where its engine cannot run containers here (or is off).
  std::unique_ptr<ContainerRuntime> runc_runtime_;
  std::unique_ptr<ContainerRuntime> containerd_runtime_;
  std::unique_ptr<CpuPriorityLoop>
      cpu_priority_;  // with containers, unless worker.cpu_priority is off
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<MasterLink> link_;       // to the master it joined (the master)
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
  std::unique_ptr<WorkerService> service_;
  std::unique_ptr<WorkerAdminService> admin_service_;
  RunningServer server_;
  int port_ = 0;
};

}  // namespace fsched::worker
