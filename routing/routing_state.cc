#include "routing/routing_state.h"

#include "absl/strings/str_cat.h"

namespace fsched::routing {

v1::Architecture ArchitectureNamed(const std::string& name) {
  if (name == "centralized") return v1::ARCHITECTURE_CENTRALIZED;
  if (name == "federated") return v1::ARCHITECTURE_FEDERATED;
  if (name == "decentralized") return v1::ARCHITECTURE_DECENTRALIZED;
  if (name == "dynamic") return v1::ARCHITECTURE_DYNAMIC;
  return v1::ARCHITECTURE_UNSPECIFIED;
}

std::string ArchitectureName(v1::Architecture architecture) {
  switch (architecture) {
    case v1::ARCHITECTURE_CENTRALIZED:
      return "centralized";
    case v1::ARCHITECTURE_FEDERATED:
      return "federated";
    case v1::ARCHITECTURE_DECENTRALIZED:
      return "decentralized";
    case v1::ARCHITECTURE_DYNAMIC:
      return "dynamic";
    default:
      return "unspecified";
  }
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
  absl::MutexLock lock(&mu_);
  architecture_ = a;
  return a;
}

absl::StatusOr<v1::Thresholds> RoutingState::UpdateThresholds(const v1::Thresholds& update) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = selector_.UpdateThresholds(update); !s.ok()) return s;
  return ThresholdsProto(selector_.thresholds());
}

double RoutingState::offload_load_threshold() const {
  absl::MutexLock lock(&mu_);
  return selector_.thresholds().offload_load_threshold();
}

v1::Architecture RoutingState::Resolve(const std::string& function, v1::Architecture requested) {
  absl::MutexLock lock(&mu_);
  const v1::Architecture a = requested == v1::ARCHITECTURE_UNSPECIFIED ? architecture_ : requested;
  if (a != v1::ARCHITECTURE_DYNAMIC) return a;
  return selector_.Choose(function, clock_->Now());
}

void RoutingState::Record(const std::string& function, v1::Architecture architecture,
                          double seconds) {
  absl::MutexLock lock(&mu_);
  selector_.Record(function, architecture, seconds, clock_->Now());
}

v1::GetArchMetricsResponse RoutingState::Metrics(const std::string& function) {
  v1::GetArchMetricsResponse out;
  absl::MutexLock lock(&mu_);
  out.set_architecture(architecture_);
  for (v1::FunctionArchMetrics& m : selector_.Metrics(function, clock_->Now())) {
    // The ratios mean something once they routed requests: this node is dynamic,
    // or requests that asked for dynamic were drawn (each draw logs the rate).
    if (architecture_ != v1::ARCHITECTURE_DYNAMIC && m.rate_log_size() == 0) m.clear_ratios();
    *out.add_functions() = std::move(m);
  }
  *out.mutable_thresholds() = ThresholdsProto(selector_.thresholds());
  return out;
}

}  // namespace fsched::routing
