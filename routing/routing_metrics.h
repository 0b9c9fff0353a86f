// Routing's Prometheus metrics, exported by every node that routes (masters and
// workers): requests that entered here by architecture and outcome, how far
// they travelled, and the dynamic selector's ratios and tail ratios.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"

namespace fsched {
class MetricsEndpoint;
class LabelCap;
}  // namespace fsched

namespace fsched::routing {

class RoutingState;

class RoutingMetrics {
 public:
  /// Registers the metrics on `endpoint`; `functions` bounds the function
  /// label. All three must outlive this object's use.
  RoutingMetrics(MetricsEndpoint* endpoint, RoutingState* state, LabelCap* functions);
  ~RoutingMetrics();

  /// Router::Options::on_entry_done.
  void OnEntryDone(v1::Architecture architecture,
                   const absl::StatusOr<v1::InvocationResult>& result, absl::Duration elapsed);

 private:
  struct Families;
  std::unique_ptr<Families> families_;
};

}  // namespace fsched::routing
