// fsched.v1.Admin as a worker serves it: it is an entry node too (seed 001),
// so its architecture, the dynamic selector's windows and ratios, and its
// thresholds are read and set here like a master's. Load is this worker's
// (host and slots); configuration is its effective config. Durations,
// scheduling policies and what a restart recovered are kept by masters: asked
// here, they are refused with FAILED_PRECONDITION naming the master to ask.
#pragma once

#include <functional>
#include <string>

#include "common/auth.h"
#include "fsched/v1/admin.grpc.pb.h"
#include "routing/routing_state.h"
#include "worker/worker_state.h"

namespace fsched::worker {

class WorkerAdminService final : public v1::Admin::CallbackService {
 public:
  struct Options {
    const Gate* gate = nullptr;  // who may call
    std::string node_id;         // empty until the worker knows its id
    std::string zone;
    std::string config_yaml;
    routing::RoutingState* routing = nullptr;
    WorkerState* node = nullptr;  // load, slots, the master joined
  };
  explicit WorkerAdminService(Options options) : s_(std::move(options)) {}
  /// Before the worker publishes its port (port file, log), so no call races it.
  void set_node_id(std::string id) { s_.node_id = std::move(id); }

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
  absl::Status KeptByMasters(const char* what) const;
  Options s_;
};

}  // namespace fsched::worker
