// What an open-loop level sends and when: Poisson arrivals or a replayed
// trace, fixed before the level starts so the driver only keeps the schedule
// and a run is reproducible from its seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/workload/workload.h"

namespace fsched::bench {

struct ScheduledCall {
  absl::Duration at;      // offset from the start of the level
  uint32_t function = 0;  // index into the run's list of registered functions
  // A replayed trace's duration for this call in seconds (for payload
  // templates), or -1 when the workload has none.
  double trace_duration = -1;
  std::string trace_function;  // the trace's name for it; empty unless replayed
};

struct LevelPlan {
  std::string shape;                 // "Poisson 5 req/s", "trace azure2019 x0.05"
  double offered_rps = 0;            // mean rate the schedule asks for
  absl::Duration length;             // how long the schedule spans
  std::vector<ScheduledCall> calls;  // sorted by `at`
};

/// Poisson arrivals at `rate` for `duration`; each call picks one of
/// `functions` uniformly at random (from the same seed).
absl::StatusOr<LevelPlan> PoissonLevel(double rate, absl::Duration duration, uint64_t seed,
                                       uint32_t functions);

/// The first `window` of `source` (times already scaled by the source), at
/// most `max_calls` calls. Trace function k is mapped onto registered function
/// k mod `functions`, so a handful of registered functions stand in for the
/// trace's many; the trace's own name and duration travel with each call.
/// INVALID_ARGUMENT if the window is not positive or nothing falls inside it.
absl::StatusOr<LevelPlan> TraceLevel(workload::ArrivalSource& source, const std::string& shape,
                                     absl::Duration window, size_t max_calls, uint32_t functions);

/// Fills a payload or argument template: {i} the call's index, {function}
/// the registered function, {duration_s} and {duration_ms} the replayed
/// trace's duration (0 when there is none).
std::string FillTemplate(const std::string& pattern, int index, const std::string& function,
                         double trace_duration);

}  // namespace fsched::bench
