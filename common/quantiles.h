// Order statistics over samples: summaries for reports and bounded sliding windows.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "absl/time/time.h"

namespace fsched {

/// Linear-interpolated quantile (q in [0,1]) of unsorted samples; 0 when empty.
double Quantile(std::vector<double> samples, double q);

struct Summary {
  size_t count = 0;
  double mean = 0, min = 0, max = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, stddev = 0;
};

/// Summary statistics of `samples` (one sort, not one per quantile).
Summary Summarize(std::vector<double> samples);

/// The most recent samples within a time window and a count cap. Not thread-safe.
class SlidingWindow {
 public:
  SlidingWindow(absl::Duration span, size_t max_samples) : span_(span), max_(max_samples) {}
  void Add(absl::Time at, double value);
  /// Drops samples older than now - span.
  void Expire(absl::Time now);
  std::vector<double> Values() const;
  size_t size() const { return samples_.size(); }
  /// The mean of the samples held (0 when none), without copying them: kept
  /// as a running sum, read on every routed call.
  double Mean() const;

 private:
  struct Sample {
    absl::Time at;
    double value;
  };
  void DropOldest();
  absl::Duration span_;
  size_t max_;
  std::deque<Sample> samples_;
  double sum_ = 0;
};

}  // namespace fsched
