#include "master/routing_state.h"

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"

namespace fsched::master {

v1::Architecture ArchitectureNamed(const std::string& name) {
  if (name == "centralized") return v1::ARCHITECTURE_CENTRALIZED;
  if (name == "federated") return v1::ARCHITECTURE_FEDERATED;
  if (name == "decentralized") return v1::ARCHITECTURE_DECENTRALIZED;
  if (name == "dynamic") return v1::ARCHITECTURE_DYNAMIC;
  return v1::ARCHITECTURE_UNSPECIFIED;
}

v1::Architecture RoutingState::architecture() const {
  absl::MutexLock lock(&mu_);
  return architecture_;
}

absl::StatusOr<v1::Architecture> RoutingState::SetArchitecture(const std::string& name) {
  const v1::Architecture a = ArchitectureNamed(name);
  if (a == v1::ARCHITECTURE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("architecture '", name.substr(0, 40),
                     "' is not one of centralized, federated, decentralized, dynamic"));
  }
  if (a != v1::ARCHITECTURE_CENTRALIZED) {
    return absl::FailedPreconditionError(absl::StrCat(
        name,
        " routing needs zone masters and worker peers, which this fsched version does not "
        "have yet; this master routes centralized"));
  }
  absl::MutexLock lock(&mu_);
  architecture_ = a;
  return a;
}

absl::StatusOr<v1::Thresholds> RoutingState::UpdateThresholds(const v1::Thresholds& update) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = selector_.UpdateThresholds(update); !s.ok()) return s;
  return ThresholdsProto(selector_.thresholds());
}

void RoutingState::Record(const v1::InvocationResult& result) {
  if (result.outcome() != v1::OUTCOME_OK) return;  // a failure's time says nothing of routing
  v1::Architecture a = result.architecture();
  absl::MutexLock lock(&mu_);
  if (a == v1::ARCHITECTURE_UNSPECIFIED || a == v1::ARCHITECTURE_DYNAMIC) a = architecture_;
  selector_.Record(result.function(), a, absl::ToDoubleSeconds(FromProto(result.timings().total())),
                   clock_->Now());
}

v1::GetArchMetricsResponse RoutingState::Metrics(const std::string& function) {
  v1::GetArchMetricsResponse out;
  absl::MutexLock lock(&mu_);
  out.set_architecture(architecture_);
  for (v1::FunctionArchMetrics& m : selector_.Metrics(function, clock_->Now())) {
    // The selector's ratios route requests only under the dynamic architecture.
    if (architecture_ != v1::ARCHITECTURE_DYNAMIC) m.clear_ratios();
    *out.add_functions() = std::move(m);
  }
  *out.mutable_thresholds() = ThresholdsProto(selector_.thresholds());
  return out;
}

}  // namespace fsched::master
