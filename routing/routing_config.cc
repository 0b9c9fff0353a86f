#include "routing/routing_config.h"

#include "absl/strings/str_cat.h"

namespace fsched::routing {

absl::Status ValidateTailScheduler(const TailSchedulerConfig& t) {
  if (absl::Status s = CheckFieldRules(t); !s.ok()) return s;
  if (t.soft_d2f_threshold() >= t.hard_d2f_threshold()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "soft_d2f ", t.soft_d2f_threshold(), " must be below hard_d2f ", t.hard_d2f_threshold()));
  }
  if (t.soft_f2c_threshold() >= t.hard_f2c_threshold()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "soft_f2c ", t.soft_f2c_threshold(), " must be below hard_f2c ", t.hard_f2c_threshold()));
  }
  return absl::OkStatus();
}

absl::Status ValidateRoutingConfig(const Config& config) {
  if (absl::Status s = ValidateTailScheduler(config.tail_scheduler()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config: tail_scheduler: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace fsched::routing
