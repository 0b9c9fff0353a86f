// A worker process assembled: runtimes, executor, host monitor, master link and
// its own gRPC service.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/host_stats.h"
#include "common/rpc.h"
#include "common/server.h"
#include "worker/executor.h"
#include "worker/master_link.h"
#include "worker/process_runtime.h"
#include "worker/runc_runtime.h"
#include "worker/worker_service.h"

namespace fsched::worker {

class WorkerNode {
 public:
  using FatalFn = MasterLink::FatalFn;
  static constexpr int kExitUnauthenticated = 3;
  /// FAILED_PRECONDITION when worker.runc is on (or worker.runtime is runc)
  /// and runc cannot run containers here, with the reason.
  static absl::StatusOr<std::unique_ptr<WorkerNode>> Create(const Config& config, FatalFn fatal);
  ~WorkerNode();

  /// Binds config.listen, then starts the master link (if a master is configured).
  absl::Status Start();
  void Shutdown();
  int port() const { return port_; }
  const std::string& worker_id() const { return worker_id_; }

 private:
  explicit WorkerNode(const Config& config) : config_(config) {}
  v1::WorkerCapacity Capacity();
  v1::WorkerLoad Load();
  void Status(v1::WorkerStatus* out);

  Config config_;
  std::string worker_id_;
  HostMonitor host_;
  ProcessRuntime process_runtime_;
  std::unique_ptr<RootfsCache> rootfs_cache_;      // root filesystems by digest, from the master
  std::unique_ptr<RuncRuntime> runc_runtime_;      // null where runc cannot run containers
  std::unique_ptr<CpuPriorityLoop> cpu_priority_;  // with runc, unless worker.cpu_priority is off
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<MasterLink> link_;
  std::unique_ptr<WorkerService> service_;
  RunningServer server_;
  int port_ = 0;
};

}  // namespace fsched::worker
