// What a function's spec says about how its calls run, for every node that
// takes a call (the master's controller, a worker's direct entry) and every
// node that runs or reports one, so that they agree.
#pragma once

#include "absl/status/status.h"
#include "fsched/v1/types.pb.h"

namespace fsched {

/// Whether the function's calls go to persistent instances: declared
/// (`lifetime: persistent`), or implied by a hosted language runtime.
bool IsPersistent(const v1::FunctionSpec& spec);

/// INVALID_ARGUMENT when `request` cannot be a call of `spec`: args for a
/// function whose instances were started once (its input is the payload).
absl::Status CheckCallFits(const v1::InvokeRequest& request, const v1::FunctionSpec& spec);

}  // namespace fsched
