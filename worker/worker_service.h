// gRPC adapter for fsched.v1.Worker: Join (what Cluster.AddWorker calls) and
// GetStatus. Worker.Invoke (direct entry and peer offload) belongs to the
// routing work (issue 7); this class does not override it yet, so gRPC's
// generated base class refuses it.
#pragma once

#include <functional>

#include "fsched/v1/worker.grpc.pb.h"
#include "worker/executor.h"
#include "worker/master_link.h"

namespace fsched::worker {

class WorkerService final : public v1::Worker::CallbackService {
 public:
  using StatusFn = std::function<void(v1::WorkerStatus*)>;
  WorkerService(MasterLink* link, StatusFn status) : link_(link), status_(std::move(status)) {}

  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* ctx, const v1::JoinRequest* request,
                                 v1::JoinResponse* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const v1::GetStatusRequest* request,
                                      v1::WorkerStatus* response) override;

 private:
  MasterLink* const link_;
  const StatusFn status_;
};

}  // namespace fsched::worker
