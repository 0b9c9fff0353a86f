// The architecture part of fsched.v1.Admin (seed 001's /arch_metrics,
// /reload and /update_threshold), served the same way by every routing node:
// masters from their AdminService, workers from WorkerAdminService.
#pragma once

#include <grpcpp/grpcpp.h>

#include "fsched/v1/admin.pb.h"
#include "routing/routing_state.h"

namespace fsched::routing {

grpc::ServerUnaryReactor* ServeArchMetrics(RoutingState* state, grpc::CallbackServerContext* ctx,
                                           const v1::GetArchMetricsRequest* request,
                                           v1::GetArchMetricsResponse* response);
grpc::ServerUnaryReactor* ServeSetArchitecture(RoutingState* state,
                                               grpc::CallbackServerContext* ctx,
                                               const v1::SetArchitectureRequest* request,
                                               v1::SetArchitectureResponse* response);
grpc::ServerUnaryReactor* ServeUpdateThresholds(RoutingState* state,
                                                grpc::CallbackServerContext* ctx,
                                                const v1::UpdateThresholdsRequest* request,
                                                v1::Thresholds* response);

}  // namespace fsched::routing
