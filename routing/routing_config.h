// Routing's config section (tail_scheduler): the rules that tie its keys
// together, for the file and for thresholds changed at run time. Single keys'
// defaults and ranges are in proto/fsched/config/v1/routing.proto.
#pragma once

#include "absl/status/status.h"
#include "common/config.h"

namespace fsched::routing {

/// INVALID_ARGUMENT naming the key unless every key is in its declared range
/// and each soft threshold is below its hard one.
absl::Status ValidateTailScheduler(const TailSchedulerConfig& t);

/// ValidateTailScheduler on the file's section, as "config: tail_scheduler...".
absl::Status ValidateRoutingConfig(const Config& config);

}  // namespace fsched::routing
