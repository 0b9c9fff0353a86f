// When fsched-bench sends: arrival schedules, computed up front from a seed so
// a run is reproducible and the driver only has to keep to the schedule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsched::bench {

/// Open loop: Poisson arrivals at `rate` per second for `duration`, as offsets
/// from the start of the level (exponential gaps, deterministic given `seed`).
/// INVALID_ARGUMENT unless rate and duration are positive and finite.
absl::StatusOr<std::vector<absl::Duration>> PoissonArrivals(double rate, absl::Duration duration,
                                                            uint64_t seed);

/// Parses a list of load levels such as "2,5,15" (requests per second): each
/// positive and finite. INVALID_ARGUMENT naming the bad item.
absl::StatusOr<std::vector<double>> ParseRates(const std::string& text);

/// Parses a list of closed-loop stages such as "2,5,10,20,40" (concurrent
/// users): each a whole number from 1 to 1,000. INVALID_ARGUMENT naming the bad item.
absl::StatusOr<std::vector<int>> ParseUsers(const std::string& text);

}  // namespace fsched::bench
