// The one place where absl::Status becomes grpc::Status and back (the RPC edge).
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsched {

/// A refusal that says when to come back (RESOURCE_EXHAUSTED of a quota):
/// carried as a payload inside, and as the trailing metadata "retry-after-ms"
/// at the RPC edge (ToGrpcStatus with a context, FinishUnary).
void SetRetryAfter(absl::Status* status, absl::Duration wait);
std::optional<absl::Duration> RetryAfter(const absl::Status& status);
inline constexpr char kRetryAfterTrailer[] = "retry-after-ms";
/// The initial metadata of a synchronous Controller.Invoke that the master
/// accepted: its invocation id, sent before it runs, so a caller whose
/// connection drops can still WaitInvocation on it.
inline constexpr char kInvocationIdHeader[] = "fsched-invocation-id";

grpc::Status ToGrpcStatus(const absl::Status& status);
/// ToGrpcStatus, adding the retry hint to the call's trailing metadata.
grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* ctx);
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
