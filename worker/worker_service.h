// gRPC adapter for fsched.v1.Worker: Join (what Cluster.AddWorker calls),
// GetStatus, and Invoke (direct entry and peer offload, through the router).
#pragma once

#include <atomic>
#include <functional>

#include "common/auth.h"
#include "fsched/v1/worker.grpc.pb.h"
#include "routing/router.h"
#include "worker/executor.h"
#include "worker/master_link.h"
#include "worker/worker_state.h"

namespace fsched::worker {

class WorkerService final : public v1::Worker::CallbackService {
 public:
  /// `link` is the link Join re-targets; `node` answers GetStatus. Both outlive the service.
  WorkerService(const Gate* gate, MasterLink* link, WorkerState* node)
      : gate_(gate), link_(link), node_(node) {}

  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* ctx, const v1::JoinRequest* request,
                                 v1::JoinResponse* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const v1::GetStatusRequest* request,
                                      v1::WorkerStatus* response) override;
  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* ctx,
                                   const v1::InvokeRequest* request,
                                   v1::InvocationResult* response) override;

  /// Set once the worker knows its id (after binding); until then Invoke is UNAVAILABLE.
  void set_router(routing::Router* router) { router_.store(router); }

 private:
  const Gate* const gate_;
  MasterLink* const link_;
  WorkerState* const node_;
  std::atomic<routing::Router*> router_{nullptr};
};

}  // namespace fsched::worker
