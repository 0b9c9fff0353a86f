// The order in which a node tries offload targets (seed 001's 1/latency
// weights): a target never measured first, then a weighted draw without
// replacement with weight 1/mean over the last 60 s. A forwarded request's
// time is recorded penalised by ×(1 + 0.3·hop) (the hop it arrived at), so
// targets reached over more hops look slower, as seed 001 intended but never
// applied. A target that failed to answer is tried last for the next 5 s.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/quantiles.h"
#include "routing/topology.h"

namespace fsched::routing {

/// ×(1 + 0.3·hop).
double OffloadPenalty(uint32_t hop);

class TargetLatency {
 public:
  static constexpr absl::Duration kWindow = absl::Seconds(60);
  static constexpr absl::Duration kDownFor = absl::Seconds(5);
  static constexpr absl::Duration kLoadFresh = absl::Milliseconds(500);

  explicit TargetLatency(Clock* clock, uint64_t seed = 1) : clock_(clock), rng_(seed) {}

  /// A request forwarded to `target` at `hop` (its hop count there) answered after `elapsed`.
  void Record(const std::string& target, absl::Duration elapsed, uint32_t hop);
  /// `target` did not answer (unreachable, or shut down).
  void MarkDown(const std::string& target);
  /// `target` said, answering a forwarded request, how busy it was as the
  /// request arrived (its running and waiting calls over its slots).
  void RecordLoad(const std::string& target, double load);
  /// Whether `target` said within the last kLoadFresh that it was at or above
  /// `threshold`: a busy node would only serve a request handed to it in place,
  /// at both nodes' cost, so it is no offload target until it says otherwise
  /// or the word goes stale (then one request finds out again).
  bool SaidBusy(const std::string& target, double threshold);
  /// `targets` in the order to try them.
  std::vector<NodeRef> Order(std::vector<NodeRef> targets);
  /// Mean penalised seconds over the window; 0 when never measured.
  double MeanSeconds(const std::string& target);

 private:
  struct Stats {
    SlidingWindow window{kWindow, 4096};
    absl::Time down_until = absl::InfinitePast();
    double load = 0;
    absl::Time load_at = absl::InfinitePast();
  };
  Clock* const clock_;
  absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Stats> targets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched::routing
