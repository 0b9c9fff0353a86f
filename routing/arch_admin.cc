#include "routing/arch_admin.h"

#include "common/grpc_status.h"

namespace fsched::routing {

grpc::ServerUnaryReactor* ServeArchMetrics(RoutingState* state, grpc::CallbackServerContext* ctx,
                                           const v1::GetArchMetricsRequest* request,
                                           v1::GetArchMetricsResponse* response) {
  *response = state->Metrics(request->function());
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ServeSetArchitecture(RoutingState* state,
                                               grpc::CallbackServerContext* ctx,
                                               const v1::SetArchitectureRequest* request,
                                               v1::SetArchitectureResponse* response) {
  absl::StatusOr<v1::Architecture> set = state->SetArchitecture(request->architecture());
  if (set.ok()) response->set_architecture(*set);
  return FinishUnary(ctx, set.status());
}

grpc::ServerUnaryReactor* ServeUpdateThresholds(RoutingState* state,
                                                grpc::CallbackServerContext* ctx,
                                                const v1::UpdateThresholdsRequest* request,
                                                v1::Thresholds* response) {
  return FinishWith(ctx, state->UpdateThresholds(request->thresholds()), response);
}

}  // namespace fsched::routing
