// What every fsched node's metrics share: the endpoint itself, the bounded
// function label and fsched_node_info. A master or worker adds its own
// families on top (and routing's, routing/routing_metrics).
#pragma once

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "fsched/v1/types.pb.h"

namespace fsched {

class MetricsEndpoint;
class LabelCap;

class NodeMetrics {
 public:
  struct Identity {
    std::string node_id, role, zone;
  };
  /// Serves config.listen. UNAVAILABLE / INVALID_ARGUMENT as MetricsEndpoint::Start.
  static absl::StatusOr<std::unique_ptr<NodeMetrics>> Start(const MetricsConfig& config,
                                                            Identity identity);
  ~NodeMetrics();

  MetricsEndpoint& endpoint() { return *endpoint_; }
  /// Function names as label values, at most metrics.max_function_labels of them.
  LabelCap& functions() { return *functions_; }
  int port() const;
  /// Stops the HTTP endpoint; recording stays safe until destruction.
  void StopServing();

 private:
  NodeMetrics() = default;
  std::unique_ptr<LabelCap> functions_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

/// Idle instances by execution mode (indexed by v1::ExecutionMode).
std::array<double, 4> CountByMode(
    const google::protobuf::RepeatedPtrField<v1::WarmInstance>& instances);

}  // namespace fsched
