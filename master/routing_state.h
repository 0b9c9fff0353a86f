// The master's architecture (seed 001): which one requests are routed by, the
// dynamic selector's thresholds and windows, and what GetArchMetrics reports.
// Every finished invocation's end-to-end time is recorded under the
// architecture that served it. This master routes centralized (it places over
// its own workers); federated, decentralized and dynamic routing need zone
// masters and worker peers, which are not built yet, so setting them is
// refused with FAILED_PRECONDITION rather than pretended.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/config.h"
#include "fsched/v1/admin.pb.h"
#include "master/arch_selector.h"

namespace fsched::master {

class RoutingState {
 public:
  RoutingState(const TailSchedulerConfig& thresholds, Clock* clock)
      : clock_(clock), selector_(thresholds) {}

  /// The architecture this master routes by.
  v1::Architecture architecture() const;
  /// INVALID_ARGUMENT for a name that is none of centralized, federated,
  /// decentralized, dynamic; FAILED_PRECONDITION for one this master cannot route by.
  absl::StatusOr<v1::Architecture> SetArchitecture(const std::string& name);
  /// Fields left out keep their values; INVALID_ARGUMENT leaves all unchanged.
  absl::StatusOr<v1::Thresholds> UpdateThresholds(const v1::Thresholds& update);
  /// A finished invocation: its end-to-end time under its architecture.
  void Record(const v1::InvocationResult& result);
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

}  // namespace fsched::master
