// gRPC adapter for fsched.v1.Admin: load, configuration, durations, recovery, the
// run-time scheduling policy, and the architecture (metrics, setting it,
// thresholds) over RoutingState.
#pragma once

#include <string>

#include "common/auth.h"
#include "common/host_stats.h"
#include "fsched/v1/admin.grpc.pb.h"
#include "master/cluster_manager.h"
#include "master/controller.h"
#include "master/function_registry.h"
#include "master/invocation_table.h"
#include "master/master_core.h"
#include "master/scheduler.h"
#include "routing/routing_state.h"

namespace fsched::master {

class AdminService final : public v1::Admin::CallbackService {
 public:
  struct Options {
    const Gate* gate = nullptr;  // who may call
    std::string node_id, role, zone;
    std::string config_yaml;
    ClusterManager* cluster;
    Scheduler* scheduler;
    FunctionRegistry* registry;
    InvocationTable* table;
    Controller* controller;
    HostMonitor* host;
    routing::RoutingState* routing;
    // What the core recovered at start (null = not durable).
    const MasterCore::Recovered* recovered = nullptr;
  };
  explicit AdminService(Options options) : s_(std::move(options)) {}

  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* ctx,
                                    const v1::GetLoadRequest* request,
                                    v1::GetLoadResponse* response) override;
  grpc::ServerUnaryReactor* GetConfiguration(grpc::CallbackServerContext* ctx,
                                             const v1::GetConfigurationRequest* request,
                                             v1::GetConfigurationResponse* response) override;
  grpc::ServerUnaryReactor* GetDurations(grpc::CallbackServerContext* ctx,
                                         const v1::GetDurationsRequest* request,
                                         v1::GetDurationsResponse* response) override;
  grpc::ServerUnaryReactor* GetRecovery(grpc::CallbackServerContext* ctx,
                                        const v1::GetRecoveryRequest* request,
                                        v1::Recovery* response) override;
  grpc::ServerUnaryReactor* GetSchedulingPolicy(grpc::CallbackServerContext* ctx,
                                                const v1::GetSchedulingPolicyRequest* request,
                                                v1::SchedulingPolicy* response) override;
  grpc::ServerUnaryReactor* SetSchedulingPolicy(grpc::CallbackServerContext* ctx,
                                                const v1::SchedulingPolicy* request,
                                                v1::SchedulingPolicy* response) override;
  grpc::ServerUnaryReactor* GetArchMetrics(grpc::CallbackServerContext* ctx,
                                           const v1::GetArchMetricsRequest* request,
                                           v1::GetArchMetricsResponse* response) override;
  grpc::ServerUnaryReactor* SetArchitecture(grpc::CallbackServerContext* ctx,
                                            const v1::SetArchitectureRequest* request,
                                            v1::SetArchitectureResponse* response) override;
  grpc::ServerUnaryReactor* UpdateThresholds(grpc::CallbackServerContext* ctx,
                                             const v1::UpdateThresholdsRequest* request,
                                             v1::Thresholds* response) override;

 private:
  const Options s_;
};

}  // namespace fsched::master
