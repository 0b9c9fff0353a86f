// The one place where absl::Status becomes grpc::Status and back (the RPC edge).
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsched {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

/// Finishes a unary callback RPC at once with `status` (its response already filled).
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* ctx, const absl::Status& status);

/// Finishes a unary callback RPC with `result`: its value as the response, or its error.
template <typename T, typename Out>
grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* ctx, absl::StatusOr<T> result,
                                     Out* response) {
  if (result.ok()) *response = std::move(*result);
  return FinishUnary(ctx, result.status());
}

}  // namespace fsched
