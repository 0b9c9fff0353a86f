// gRPC adapter for fsched.v1.Admin: load, configuration, durations and the
// run-time scheduling policy. The architecture RPCs (GetArchMetrics,
// SetArchitecture, UpdateThresholds) belong to the routing work (issue 7); this
// class does not override them, so gRPC's generated base class refuses them.
#pragma once

#include <string>

#include "common/host_stats.h"
#include "fsched/v1/admin.grpc.pb.h"
#include "master/cluster_manager.h"
#include "master/controller.h"
#include "master/function_registry.h"
#include "master/invocation_table.h"
#include "master/scheduler.h"

namespace fsched::master {

class AdminService final : public v1::Admin::CallbackService {
 public:
  struct Sources {
    std::string node_id, role, zone;
    std::string config_yaml;
    ClusterManager* cluster;
    Scheduler* scheduler;
    FunctionRegistry* registry;
    InvocationTable* table;
    Controller* controller;
    HostMonitor* host;
  };
  explicit AdminService(Sources sources) : s_(std::move(sources)) {}

  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* ctx,
                                    const v1::GetLoadRequest* request,
                                    v1::GetLoadResponse* response) override;
  grpc::ServerUnaryReactor* GetConfiguration(grpc::CallbackServerContext* ctx,
                                             const v1::GetConfigurationRequest* request,
                                             v1::GetConfigurationResponse* response) override;
  grpc::ServerUnaryReactor* GetDurations(grpc::CallbackServerContext* ctx,
                                         const v1::GetDurationsRequest* request,
                                         v1::GetDurationsResponse* response) override;
  grpc::ServerUnaryReactor* GetSchedulingPolicy(grpc::CallbackServerContext* ctx,
                                                const v1::GetSchedulingPolicyRequest* request,
                                                v1::SchedulingPolicy* response) override;
  grpc::ServerUnaryReactor* SetSchedulingPolicy(grpc::CallbackServerContext* ctx,
                                                const v1::SchedulingPolicy* request,
                                                v1::SchedulingPolicy* response) override;

 private:
  const Sources s_;
};

}  // namespace fsched::master
