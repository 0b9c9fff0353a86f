// A node's architecture (seed 001): the one requests entering here are routed
// by, the dynamic selector's thresholds and windows, and what GetArchMetrics
// reports. Every request that entered at this node and finished OK is recorded
// with its end-to-end time under the architecture that routed it, so the
// selector sees what clients of this entry node see.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/config.h"
#include "fsched/v1/admin.pb.h"
#include "routing/arch_selector.h"

namespace fsched::routing {

class RoutingState {
 public:
  RoutingState(const TailSchedulerConfig& thresholds, Clock* clock, uint64_t seed = 1)
      : clock_(clock), selector_(thresholds, seed) {}

  /// The architecture this node routes by when a request names none.
  v1::Architecture architecture() const;
  /// INVALID_ARGUMENT for a name that is none of centralized, federated,
  /// decentralized, dynamic.
  absl::StatusOr<v1::Architecture> SetArchitecture(const std::string& name);
  /// Fields left out keep their values; INVALID_ARGUMENT leaves all unchanged.
  absl::StatusOr<v1::Thresholds> UpdateThresholds(const v1::Thresholds& update);
  /// The busy fraction of slots above which requests are offloaded (read per request:
  /// one number, not a copy of every threshold).
  double offload_load_threshold() const;

  /// The concrete architecture for a request entering here: its own, else this
  /// node's; dynamic means the selector draws one for the function.
  v1::Architecture Resolve(const std::string& function, v1::Architecture requested);
  /// A request that entered here finished OK after `seconds`, routed by `architecture`.
  void Record(const std::string& function, v1::Architecture architecture, double seconds);
  /// Windows, ratios and rates per function (all when `function` is empty).
  v1::GetArchMetricsResponse Metrics(const std::string& function);

 private:
  Clock* const clock_;
  mutable absl::Mutex mu_;
  v1::Architecture architecture_ ABSL_GUARDED_BY(mu_) = v1::ARCHITECTURE_CENTRALIZED;
  ArchSelector selector_ ABSL_GUARDED_BY(mu_);
};

/// "centralized" -> ARCHITECTURE_CENTRALIZED, ...; UNSPECIFIED for anything else.
v1::Architecture ArchitectureNamed(const std::string& name);
/// The lower-case name ("centralized", ...); "unspecified" otherwise.
std::string ArchitectureName(v1::Architecture architecture);

}  // namespace fsched::routing
