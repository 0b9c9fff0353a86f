#include "worker/worker_admin_service.h"

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/grpc_status.h"
#include "routing/arch_admin.h"

namespace fsched::worker {

grpc::ServerUnaryReactor* WorkerAdminService::GetLoad(grpc::CallbackServerContext* ctx,
                                                      const v1::GetLoadRequest*,
                                                      v1::GetLoadResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetLoad")) return refused;
  response->set_node_id(s_.node_id);
  *response->mutable_node() = s_.node->Load();
  response->set_workers_ready(1);
  response->set_slots_total(s_.node->Slots());
  // The node's count is of every call it accepted, those waiting for a slot too.
  const uint64_t waiting = std::min<uint64_t>(s_.node->Waiting(), response->node().running());
  response->set_running(response->node().running() - waiting);
  response->set_queued(waiting);
  response->set_slots_used(std::min<uint64_t>(response->running(), s_.node->Slots()));
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* WorkerAdminService::GetConfiguration(
    grpc::CallbackServerContext* ctx, const v1::GetConfigurationRequest*,
    v1::GetConfigurationResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetConfiguration")) return refused;
  response->set_node_id(s_.node_id);
  response->set_role("worker");
  response->set_zone(s_.zone);
  response->set_effective_config_yaml(s_.config_yaml);
  return FinishUnary(ctx, absl::OkStatus());
}

absl::Status WorkerAdminService::KeptByMasters(const char* what) const {
  const std::string master = s_.node->MasterAddress();
  return absl::FailedPreconditionError(
      absl::StrCat(what, " are kept by masters, not workers: ask ",
                   master.empty() ? "this worker's master (it has joined none yet)"
                                  : "the master at " + master));
}

grpc::ServerUnaryReactor* WorkerAdminService::GetDurations(grpc::CallbackServerContext* ctx,
                                                           const v1::GetDurationsRequest*,
                                                           v1::GetDurationsResponse*) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetDurations")) return refused;
  return FinishUnary(ctx, KeptByMasters("function durations"));
}

grpc::ServerUnaryReactor* WorkerAdminService::GetRecovery(grpc::CallbackServerContext* ctx,
                                                          const v1::GetRecoveryRequest*,
                                                          v1::Recovery*) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetRecovery")) return refused;
  return FinishUnary(ctx, KeptByMasters("recovery counts"));
}

grpc::ServerUnaryReactor* WorkerAdminService::GetSchedulingPolicy(
    grpc::CallbackServerContext* ctx, const v1::GetSchedulingPolicyRequest*,
    v1::SchedulingPolicy*) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetSchedulingPolicy")) return refused;
  return FinishUnary(ctx, KeptByMasters("scheduling policies"));
}

grpc::ServerUnaryReactor* WorkerAdminService::SetSchedulingPolicy(grpc::CallbackServerContext* ctx,
                                                                  const v1::SchedulingPolicy*,
                                                                  v1::SchedulingPolicy*) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.SetSchedulingPolicy")) return refused;
  return FinishUnary(ctx, KeptByMasters("scheduling policies"));
}

grpc::ServerUnaryReactor* WorkerAdminService::GetArchMetrics(
    grpc::CallbackServerContext* ctx, const v1::GetArchMetricsRequest* request,
    v1::GetArchMetricsResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetArchMetrics")) return refused;
  return routing::ServeArchMetrics(s_.routing, ctx, request, response);
}

grpc::ServerUnaryReactor* WorkerAdminService::SetArchitecture(
    grpc::CallbackServerContext* ctx, const v1::SetArchitectureRequest* request,
    v1::SetArchitectureResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.SetArchitecture")) return refused;
  return routing::ServeSetArchitecture(s_.routing, ctx, request, response);
}

grpc::ServerUnaryReactor* WorkerAdminService::UpdateThresholds(
    grpc::CallbackServerContext* ctx, const v1::UpdateThresholdsRequest* request,
    v1::Thresholds* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.UpdateThresholds")) return refused;
  return routing::ServeUpdateThresholds(s_.routing, ctx, request, response);
}

}  // namespace fsched::worker
