// A worker's Prometheus metrics: each execution (count by function, mode and
// outcome; cold-start and execution histograms), and at each scrape its slots,
// running and waiting calls, warm instances, cache ways and host load.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/result_observer.h"
#include "fsched/v1/types.pb.h"

namespace fsched {
class NodeMetrics;
}  // namespace fsched

namespace fsched::routing {
class RoutingMetrics;
class RoutingState;
}  // namespace fsched::routing

namespace fsched::worker {

class Executor;
class CacheAllocator;
class WorkerState;

class WorkerMetrics : public ResultObserver {
 public:
  struct Options {
    std::string node_id, zone;
    Executor* executor = nullptr;
    CacheAllocator* cache = nullptr;  // null without cache partitions
    WorkerState* node = nullptr;      // the load scraped, the master's stream
    routing::RoutingState* routing = nullptr;
  };
  /// Serves config.listen. UNAVAILABLE / INVALID_ARGUMENT as MetricsEndpoint::Start.
  static absl::StatusOr<std::unique_ptr<WorkerMetrics>> Start(const MetricsConfig& config,
                                                              Options options);
  ~WorkerMetrics();

  /// One execution on this worker (the executor's observer).
  void OnResult(const v1::InvocationResult& result) override;
  routing::RoutingMetrics* routing();
  int port() const;
  /// Stops the HTTP endpoint; recording stays safe until destruction.
  void StopServing();

 private:
  struct Families;
  WorkerMetrics() = default;
  std::unique_ptr<NodeMetrics> node_;
  std::unique_ptr<routing::RoutingMetrics> routing_;
  std::unique_ptr<Families> families_;
};

}  // namespace fsched::worker
