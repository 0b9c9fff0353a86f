#include "master/admin_service.h"

#include "common/auth.h"
#include "common/grpc_status.h"
#include "routing/arch_admin.h"

namespace fsched::master {

grpc::ServerUnaryReactor* AdminService::GetLoad(grpc::CallbackServerContext* ctx,
                                                const v1::GetLoadRequest*,
                                                v1::GetLoadResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetLoad")) return refused;
  auto host = s_.host->Sample();
  if (!host.ok()) return FinishUnary(ctx, host.status());
  response->set_node_id(s_.node_id);
  v1::WorkerLoad* node = response->mutable_node();
  node->set_load1(host->load1);
  node->set_load5(host->load5);
  node->set_load15(host->load15);
  node->set_cpu_percent(host->cpu_percent);
  node->set_memory_percent(host->memory_percent);
  node->set_memory_available_bytes(host->memory_available_bytes);
  const ClusterManager::Totals totals = s_.cluster->GetTotals();
  response->set_workers_ready(totals.ready);
  response->set_slots_total(totals.slots);
  response->set_slots_used(totals.slots_used);
  response->set_queued(s_.scheduler->queued());
  response->set_running(s_.table->running());
  response->set_requests_per_second(s_.controller->AcceptedRate());
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetConfiguration(grpc::CallbackServerContext* ctx,
                                                         const v1::GetConfigurationRequest*,
                                                         v1::GetConfigurationResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetConfiguration")) return refused;
  response->set_node_id(s_.node_id);
  response->set_role(s_.role);
  response->set_zone(s_.zone);
  response->set_effective_config_yaml(s_.config_yaml);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetDurations(grpc::CallbackServerContext* ctx,
                                                     const v1::GetDurationsRequest* request,
                                                     v1::GetDurationsResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetDurations")) return refused;
  const size_t limit = request->limit() == 0 ? 100 : request->limit();
  auto durations = s_.registry->Durations(request->function(), limit);
  if (durations.ok()) {
    for (auto& d : *durations) *response->add_functions() = std::move(d);
  }
  return FinishUnary(ctx, durations.status());
}

grpc::ServerUnaryReactor* AdminService::GetRecovery(grpc::CallbackServerContext* ctx,
                                                    const v1::GetRecoveryRequest*,
                                                    v1::Recovery* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetRecovery")) return refused;
  response->set_node_id(s_.node_id);
  if (s_.recovered == nullptr) return FinishUnary(ctx, absl::OkStatus());
  const MasterCore::Recovered& r = *s_.recovered;
  const ClusterManager::RecoveredFlights flights = s_.cluster->recovered_flights();
  response->set_durable(true);
  response->set_requeued(r.requeued);
  response->set_running(r.running);
  response->set_confirmed(flights.confirmed);
  response->set_not_held(flights.not_held);
  response->set_worker_gone(flights.worker_gone);
  const uint64_t settled = flights.confirmed + flights.not_held + flights.worker_gone;
  response->set_awaiting(r.running > settled ? r.running - settled : 0);
  response->set_rejected(r.rejected);
  response->set_results(r.results);
  response->set_adopted(flights.adopted);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetSchedulingPolicy(grpc::CallbackServerContext* ctx,
                                                            const v1::GetSchedulingPolicyRequest*,
                                                            v1::SchedulingPolicy* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetSchedulingPolicy")) return refused;
  auto [order, placement] = s_.scheduler->Policy();
  response->set_queue_order(order);
  response->set_placement(placement);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::SetSchedulingPolicy(grpc::CallbackServerContext* ctx,
                                                            const v1::SchedulingPolicy* request,
                                                            v1::SchedulingPolicy* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.SetSchedulingPolicy")) return refused;
  if (request->queue_order().empty() && request->placement().empty()) {
    return FinishUnary(ctx,
                       absl::InvalidArgumentError(
                           "set queue_order and/or placement (empty fields keep their value)"));
  }
  absl::Status set = s_.scheduler->SetPolicy(request->queue_order(), request->placement());
  auto [order, placement] = s_.scheduler->Policy();
  response->set_queue_order(order);
  response->set_placement(placement);
  return FinishUnary(ctx, set);
}

grpc::ServerUnaryReactor* AdminService::GetArchMetrics(grpc::CallbackServerContext* ctx,
                                                       const v1::GetArchMetricsRequest* request,
                                                       v1::GetArchMetricsResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.GetArchMetrics")) return refused;
  return routing::ServeArchMetrics(s_.routing, ctx, request, response);
}

grpc::ServerUnaryReactor* AdminService::SetArchitecture(grpc::CallbackServerContext* ctx,
                                                        const v1::SetArchitectureRequest* request,
                                                        v1::SetArchitectureResponse* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.SetArchitecture")) return refused;
  return routing::ServeSetArchitecture(s_.routing, ctx, request, response);
}

grpc::ServerUnaryReactor* AdminService::UpdateThresholds(grpc::CallbackServerContext* ctx,
                                                         const v1::UpdateThresholdsRequest* request,
                                                         v1::Thresholds* response) {
  if (auto* refused = Refuse(*s_.gate, ctx, "fsched.v1.Admin.UpdateThresholds")) return refused;
  return routing::ServeUpdateThresholds(s_.routing, ctx, request, response);
}

}  // namespace fsched::master
