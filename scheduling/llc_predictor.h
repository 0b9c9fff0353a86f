// Predicts how many last-level-cache ways an invocation should get (Fsched's
// LLC predictor, DESIGN.md). Benchmarking a function at an input size gives
// its time at 1..N ways; the curve is fitted to t(x) = a + b / (1 + √(x−1)),
// linear in (a, b), so least squares has a closed form. The allocation is the
// smallest whole x at which one more way would save less than a fraction g of
// the one-way time: −t'(x) / t(1) ≤ g, with the generosity g = 2 / max(free
// ways in the cluster, 20): the more cache is free, the more is given.
//
// A size that was not benchmarked uses the nearest benchmarked size of the
// same function, its times scaled by the size ratio (the seed indexed a
// character of the size string). A function never benchmarked uses the stored
// profile whose curve is nearest, in squared error, to the times the function
// was observed at; with no observations either, it is not ready.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/types.pb.h"

namespace fsched::scheduling {

struct LlcFit {
  double a = 0;  // seconds with unlimited cache
  double b = 0;  // seconds the cache can save (t(1) = a + b)
  double At(double ways) const;
  /// −t'(x): seconds one more way saves at `ways` (infinite at 1 way when b > 0).
  double MarginalGain(double ways) const;
};

/// Least-squares fit of (ways, seconds) points; INVALID_ARGUMENT with fewer
/// than two distinct way counts or a way count below 1.
absl::StatusOr<LlcFit> FitLlcCurve(const std::vector<std::pair<uint32_t, double>>& points);

/// g = 2 / max(free_ways, 20).
double Generosity(uint32_t free_ways_in_cluster);

/// The smallest whole x in [1, max_ways] with MarginalGain(x) ≤ g · t(1);
/// 1 when the cache saves nothing (b ≤ 0).
uint32_t AllocateWays(const LlcFit& fit, double generosity, uint32_t max_ways);

class LlcPredictor {
 public:
  struct Prediction {
    uint32_t ways = 0;
    bool benchmarked = false;      // this function at this size was benchmarked
    double predicted_seconds = 0;  // t(ways) of the curve used
    std::string basis;             // what the prediction rests on, for people
  };

  /// Fits and stores a benchmark (replacing one at the same function and
  /// size); the stored profile.
  absl::StatusOr<v1::LlcProfile> AddBenchmark(
      const std::string& function, double input_size,
      const std::vector<std::pair<uint32_t, double>>& points);
  /// An ordinary invocation's execution time at the ways it had (for
  /// matching a function that was never benchmarked to a profile).
  void Observe(const std::string& function, uint32_t ways, double seconds);
  /// FAILED_PRECONDITION "not ready: benchmark it first" when there is
  /// nothing to predict from.
  absl::StatusOr<Prediction> Predict(const std::string& function, double input_size,
                                     uint32_t free_ways_in_cluster, uint32_t max_ways) const;
  bool HasProfile(const std::string& function) const;
  /// Whether Predict could answer for `function` (a cheap check before it).
  bool CanPredict(const std::string& function) const;
  std::vector<double> BenchmarkedSizes(const std::string& function) const;

  std::vector<v1::LlcProfile> Profiles() const;
  void Import(const v1::LlcProfile& profile);

 private:
  static constexpr size_t kObservations = 32;
  mutable absl::Mutex mu_;
  // function -> input size -> profile
  std::map<std::string, std::map<double, v1::LlcProfile>> profiles_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::pair<uint32_t, double>>> observed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched::scheduling
