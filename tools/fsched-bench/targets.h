// Where fsched-bench sends its calls: masters (Controller.Invoke) or workers
// (Worker.Invoke, seed 001's entry at an edge node), one address or several
// taken in turn by call index, so a run can enter a topology at every node.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "fsched/v1/worker.grpc.pb.h"

namespace fsched::bench {

class InvokeTargets {
 public:
  /// `entry` is "master" or "worker"; `addresses` host:port each, at least one.
  static absl::StatusOr<std::unique_ptr<InvokeTargets>> Create(
      const std::string& entry, const std::vector<std::string>& addresses);

  grpc::Status Invoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest& request,
                      v1::InvocationResult* result);
  void AsyncInvoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest* request,
                   v1::InvocationResult* result, std::function<void(grpc::Status)> done);
  size_t size() const { return controllers_.size() + workers_.size(); }

 private:
  InvokeTargets() = default;
  std::vector<std::unique_ptr<v1::Controller::Stub>> controllers_;
  std::vector<std::unique_ptr<v1::Worker::Stub>> workers_;
};

}  // namespace fsched::bench
