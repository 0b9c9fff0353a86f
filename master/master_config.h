// The master's config sections (cluster, scheduler): the rules that tie their
// keys together. Single keys' defaults and ranges are in
// proto/fsched/config/v1/master.proto.
#pragma once

#include "absl/status/status.h"
#include "common/config.h"

namespace fsched::master {

/// INVALID_ARGUMENT "config: <key>: <what>" unless the heartbeat timeout is
/// longer than the interval and the default timeout fits under the maximum.
absl::Status ValidateMasterConfig(const Config& config);

}  // namespace fsched::master
