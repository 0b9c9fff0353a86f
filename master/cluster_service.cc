#include "master/cluster_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/grpc_status.h"
#include "common/rpc.h"
#include "fsched/v1/worker.grpc.pb.h"

namespace fsched::master {
namespace {

// One outgoing Join call; owns what the client callback API needs until it completes.
struct JoinCall {
  grpc::ClientContext context;
  v1::JoinRequest request;
  v1::JoinResponse response;
  std::unique_ptr<v1::Worker::Stub> stub;
};

}  // namespace

grpc::ServerUnaryReactor* ClusterService::AddWorker(grpc::CallbackServerContext* ctx,
                                                    const v1::AddWorkerRequest* request,
                                                    v1::WorkerInfo* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Cluster.AddWorker")) return refused;
  const std::string& address = request->address();
  if (address.empty() || address.find(':') == std::string::npos || address.size() > 255) {
    return FinishUnary(
        ctx, absl::InvalidArgumentError(absl::StrCat("address '", address.substr(0, 80),
                                                     "' is not host:port of a worker's service")));
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto call = std::make_shared<JoinCall>();
  call->stub = v1::Worker::NewStub(MakeChannel(address));
  call->request.set_master_address(advertise_address_);
  call->request.set_join_token(options_.join_token);
  const absl::Time deadline = absl::Now() + options_.add_worker_timeout;
  call->context.set_deadline(absl::ToChronoTime(deadline));
  call->stub->async()->Join(
      &call->context, &call->request, &call->response,
      [this, call, reactor, response, address, deadline](grpc::Status status) {
        if (!status.ok()) {
          reactor->Finish(grpc::Status(
              grpc::StatusCode::UNAVAILABLE,
              absl::StrCat("worker at ", address,
                           " did not accept the join request: ", status.error_message())));
          return;
        }
        cluster_->AwaitWorker(call->response.worker_id(), deadline,
                              [reactor, response](absl::StatusOr<v1::WorkerInfo> info) {
                                if (info.ok()) *response = std::move(*info);
                                reactor->Finish(ToGrpcStatus(info.status()));
                              });
      });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::RemoveWorker(grpc::CallbackServerContext* ctx,
                                                       const v1::RemoveWorkerRequest* request,
                                                       v1::RemoveWorkerResponse* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Cluster.RemoveWorker")) return refused;
  if (request->worker_id().empty()) {
    return FinishUnary(ctx, absl::InvalidArgumentError("worker_id is empty"));
  }
  auto removed = cluster_->Remove(request->worker_id(), request->force());
  if (removed.ok()) {
    response->set_requeued(static_cast<uint32_t>(removed->size()));
    scheduler_->OnLost(*removed);
  }
  return FinishUnary(ctx, removed.status());
}

grpc::ServerUnaryReactor* ClusterService::DrainWorker(grpc::CallbackServerContext* ctx,
                                                      const v1::DrainWorkerRequest* request,
                                                      v1::WorkerInfo* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Cluster.DrainWorker")) return refused;
  if (request->worker_id().empty()) {
    return FinishUnary(ctx, absl::InvalidArgumentError("worker_id is empty"));
  }
  auto info = cluster_->Drain(request->worker_id());
  if (info.ok()) *response = std::move(*info);
  return FinishUnary(ctx, info.status());
}

grpc::ServerUnaryReactor* ClusterService::ListWorkers(grpc::CallbackServerContext* ctx,
                                                      const v1::ListWorkersRequest*,
                                                      v1::ListWorkersResponse* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Cluster.ListWorkers")) return refused;
  for (v1::WorkerInfo& w : cluster_->List()) *response->add_workers() = std::move(w);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ClusterService::GetWorker(grpc::CallbackServerContext* ctx,
                                                    const v1::GetWorkerRequest* request,
                                                    v1::WorkerInfo* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Cluster.GetWorker")) return refused;
  auto info = cluster_->Get(request->worker_id());
  if (info.ok()) *response = std::move(*info);
  return FinishUnary(ctx, info.status());
}

grpc::ServerUnaryReactor* ClusterService::AnnounceZone(grpc::CallbackServerContext* ctx,
                                                       const v1::AnnounceZoneRequest* request,
                                                       v1::ZoneDirectory* response) {
  absl::StatusOr<v1::Identity> caller =
      options_.gate->Admit(*ctx, "fsched.v1.Cluster.AnnounceZone");
  if (!caller.ok()) return FinishUnary(ctx, caller.status());
  // Behind the gate only the cluster's credential gets here; on an open node
  // (auth.mode: none) the announcement's own token is all there is to check.
  if (caller->source() == "open" && !options_.join_token.empty() &&
      request->join_token() != options_.join_token) {
    return FinishUnary(
        ctx, absl::UnauthenticatedError("wrong join token: a zone master presents the master's "
                                        "cluster.join_token"));
  }
  if (options_.zones == nullptr) {
    return FinishUnary(ctx, absl::FailedPreconditionError(
                                "this is a zone master: point node.parent at the master"));
  }
  absl::Status announced = options_.zones->Announce(*request);
  if (announced.ok()) *response = options_.zones->List();
  return FinishUnary(ctx, announced);
}

grpc::ServerUnaryReactor* ClusterService::ListMasters(grpc::CallbackServerContext* ctx,
                                                      const v1::ListMastersRequest*,
                                                      v1::ZoneDirectory* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Cluster.ListMasters")) return refused;
  if (options_.federation != nullptr) *response = options_.federation->Directory();
  return FinishUnary(ctx, absl::OkStatus());
}

}  // namespace fsched::master
