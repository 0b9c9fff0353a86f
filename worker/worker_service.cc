#include "worker/worker_service.h"

#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "common/grpc_status.h"

namespace fsched::worker {

grpc::ServerUnaryReactor* WorkerService::Join(grpc::CallbackServerContext* ctx,
                                              const v1::JoinRequest* request,
                                              v1::JoinResponse* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Worker.Join")) return refused;
  if (request->master_address().empty() ||
      request->master_address().find(':') == std::string::npos) {
    return FinishUnary(ctx, absl::InvalidArgumentError("master_address must be host:port"));
  }
  const std::string worker_id = link_->worker_id();
  if (worker_id.empty()) {
    return FinishUnary(ctx, absl::UnavailableError("the worker is still starting; retry"));
  }
  absl::Status set = link_->SetMaster(request->master_address(), request->join_token());
  if (set.ok()) response->set_worker_id(worker_id);
  return FinishUnary(ctx, set);
}

grpc::ServerUnaryReactor* WorkerService::GetStatus(grpc::CallbackServerContext* ctx,
                                                   const v1::GetStatusRequest*,
                                                   v1::WorkerStatus* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Worker.GetStatus")) return refused;
  node_->Status(response);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* WorkerService::Invoke(grpc::CallbackServerContext* ctx,
                                                const v1::InvokeRequest* request,
                                                v1::InvocationResult* response) {
  if (auto* refused = RefuseInvocation(*gate_, ctx, "fsched.v1.Worker.Invoke", *request)) {
    return refused;
  }
  routing::Router* router = router_.load();
  if (router == nullptr) {
    return FinishUnary(ctx, absl::UnavailableError("the worker is still starting; retry"));
  }
  if (!request->route().empty()) {
    // Handed on by another node: it hears how busy this worker was as the
    // request arrived, and stops handing it more while it is full.
    ctx->AddTrailingMetadata(routing::kLoadTrailer, absl::StrFormat("%.3f", router->NodeLoad()));
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  router->Route(*request, routing::RoutingDeadline(*ctx),
                [ctx, reactor, response](absl::StatusOr<v1::InvocationResult> result) {
                  if (result.ok()) *response = std::move(*result);
                  reactor->Finish(ToGrpcStatus(result.status(), ctx));
                });
  return reactor;
}

}  // namespace fsched::worker
