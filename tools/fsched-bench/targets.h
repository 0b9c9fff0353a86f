// Where fsched-bench sends its calls and how: over gRPC to masters
// (Controller.Invoke) or workers (Worker.Invoke, seed 001's entry at an edge
// node), or over HTTP to masters' HTTP entries (http_targets.h); one address
// or several taken in turn by call index, so a run can enter a topology at
// every node.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fsched/v1/controller.pb.h"

namespace fsched::bench {

/// One way of sending an invocation. The context carries the call's deadline
/// (and, over gRPC, its cancellation); the answer is the call's status and,
/// when OK, the invocation's result.
class InvokeTargets {
 public:
  virtual ~InvokeTargets() = default;
  virtual grpc::Status Invoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest& request,
                              v1::InvocationResult* result) = 0;
  /// `done` runs on another thread when the call ends.
  virtual void AsyncInvoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest* request,
                           v1::InvocationResult* result,
                           std::function<void(grpc::Status)> done) = 0;
  virtual size_t size() const = 0;
};

/// gRPC: `entry` is "master" or "worker"; `addresses` host:port each, at least one.
absl::StatusOr<std::unique_ptr<InvokeTargets>> GrpcTargets(
    const std::string& entry, const std::vector<std::string>& addresses);

/// "host:port" or INVALID_ARGUMENT naming it.
absl::Status CheckHostPort(const std::string& address);

}  // namespace fsched::bench
