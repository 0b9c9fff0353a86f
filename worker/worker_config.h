// The worker's config section: the rules that tie its keys together. Single
// keys' defaults and ranges are in proto/fsched/config/v1/worker.proto.
#pragma once

#include "absl/status/status.h"
#include "common/config.h"

namespace fsched::worker {

/// INVALID_ARGUMENT "config: worker.<key>: <what>" unless the default runtime
/// is process or runc (and runc is not off then), the reconnect backoff's
/// minimum is not above its maximum, and `cpus` is empty or a CPU list.
absl::Status ValidateWorkerConfig(const Config& config);

}  // namespace fsched::worker
