// A master's Prometheus metrics: every finished invocation (count by outcome,
// end-to-end / queue-wait / cold-start / execution histograms, run-time
// prediction error), and the cluster as it stands at each scrape (queue,
// workers by state, slots, per-worker load, cache ways, warm instances).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/result_observer.h"
#include "fsched/v1/types.pb.h"

namespace fsched {
class LabelCap;
class NodeMetrics;
}  // namespace fsched

namespace fsched::routing {
class RoutingMetrics;
class RoutingState;
}  // namespace fsched::routing

namespace fsched::master {

class ClusterManager;
class FunctionRegistry;
class InvocationTable;
class Scheduler;

class MasterMetrics : public ResultObserver {
 public:
  struct Options {
    std::string node_id, role, zone;
    ClusterManager* cluster = nullptr;
    Scheduler* scheduler = nullptr;
    InvocationTable* table = nullptr;
    FunctionRegistry* registry = nullptr;
    routing::RoutingState* routing = nullptr;
  };
  /// Serves config.listen. UNAVAILABLE / INVALID_ARGUMENT as MetricsEndpoint::Start.
  static absl::StatusOr<std::unique_ptr<MasterMetrics>> Start(const MetricsConfig& config,
                                                              Options options);
  ~MasterMetrics();

  /// One finished invocation (the invocation table's observer).
  void OnResult(const v1::InvocationResult& result) override;
  routing::RoutingMetrics* routing();
  int port() const;
  /// Stops the HTTP endpoint; recording stays safe until destruction.
  void StopServing();

 private:
  struct Families;
  MasterMetrics() = default;
  std::unique_ptr<NodeMetrics> node_;
  std::unique_ptr<routing::RoutingMetrics> routing_;
  std::unique_ptr<LabelCap> workers_;
  std::unique_ptr<Families> families_;
};

}  // namespace fsched::master
