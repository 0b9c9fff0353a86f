#include "tools/fsched-bench/plan.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "tools/fsched-bench/arrivals.h"

namespace fsched::bench {

absl::StatusOr<LevelPlan> PoissonLevel(double rate, absl::Duration duration, uint64_t seed,
                                       uint32_t functions) {
  if (functions == 0) return absl::InvalidArgumentError("no function to invoke");
  auto arrivals = PoissonArrivals(rate, duration, seed);
  if (!arrivals.ok()) return arrivals.status();
  LevelPlan plan;
  plan.shape = absl::StrFormat("Poisson %.6g req/s", rate);
  plan.offered_rps = rate;
  plan.length = duration;
  plan.calls.reserve(arrivals->size());
  // A separate stream for the choice of function, so adding functions keeps
  // the arrival times of a seed unchanged; drawn from raw bits like the gaps,
  // so the choice is the same with any standard library.
  std::mt19937_64 pick(seed ^ 0x9e3779b97f4a7c15ULL);
  for (absl::Duration at : *arrivals) {
    const double u = static_cast<double>(pick() >> 11) * 0x1.0p-53;  // [0, 1)
    const auto f = std::min(static_cast<uint32_t>(u * functions), functions - 1);
    plan.calls.push_back(ScheduledCall{at, f, -1, ""});
  }
  return plan;
}

absl::StatusOr<LevelPlan> TraceLevel(workload::ArrivalSource& source, const std::string& shape,
                                     absl::Duration window, size_t max_calls, uint32_t functions) {
  if (functions == 0) return absl::InvalidArgumentError("no function to invoke");
  if (window <= absl::ZeroDuration() || window == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("replay window ", absl::FormatDuration(window),
                                                   " is not positive and finite"));
  }
  LevelPlan plan;
  plan.shape = shape;
  plan.length = window;
  const double end = absl::ToDoubleSeconds(window);
  workload::Arrival arrival;
  while (plan.calls.size() < max_calls && source.Next(&arrival) && arrival.time < end) {
    plan.calls.push_back(ScheduledCall{absl::Seconds(arrival.time), arrival.function % functions,
                                       arrival.duration, source.functions()[arrival.function]});
  }
  if (plan.calls.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the trace has no invocation in its first ",
                                                   absl::FormatDuration(window),
                                                   " (after time scaling)"));
  }
  // With a call cap the schedule ends at its last call, not at the window.
  if (plan.calls.size() == max_calls) plan.length = plan.calls.back().at;
  plan.offered_rps = plan.calls.size() / std::max(absl::ToDoubleSeconds(plan.length), 1e-9);
  return plan;
}

std::string FillTemplate(const std::string& pattern, int index, const std::string& function,
                         double trace_duration) {
  if (pattern.find('{') == std::string::npos) return pattern;
  const double d = std::max(trace_duration, 0.0);
  return absl::StrReplaceAll(pattern, {{"{i}", absl::StrCat(index)},
                                       {"{function}", function},
                                       {"{duration_s}", absl::StrFormat("%.6f", d)},
                                       {"{duration_ms}", absl::StrFormat("%.3f", d * 1e3)}});
}

}  // namespace fsched::bench
