// How the simulated last-level cache slows functions down (docs/cache.md).
// Each function has a true curve, its time at x ways relative to its time
// with the whole cache, of the LLC predictor's form (α + β/(1+√(x−1))), and a
// footprint: the ways it fills when nothing stops it. Without partitions the
// functions running on a worker share its ways in proportion to their
// footprints (a streaming function with a large footprint crowds out the
// others); with partitions each gets the ways it was given. The ways a job
// has are fixed when it starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/workload/workload.h"

namespace fsched::sim {

struct CacheCurve {
  std::string name;
  double alpha = 1;  // the part of the time no cache helps
  double beta = 0;   // the part the cache can save
  uint32_t footprint = 1;
  double mean_seconds = 0.1;  // mean time with the whole cache (exponential)
};

/// Time at `ways` over time with all `total_ways` ways (≥ 1).
double CacheSlowdown(const CacheCurve& curve, double ways, uint32_t total_ways);

struct CacheModel {
  // off: durations as given; none: shared by footprint; equal: every slot
  // gets ways/slots; predicted: the LLC predictor's ways, from benchmarks.
  std::string partitioning = "off";
  uint32_t ways = 20;              // per worker
  std::vector<CacheCurve> curves;  // per function index
  double benchmark_noise = 0.02;   // relative noise of the simulated benchmark runs
};

absl::Status ValidatePartitioning(const std::string& name);

/// The four cache-sensitive synthetic functions of docs/cache.md: a streaming
/// scan (large footprint, insensitive), a matrix kernel (very sensitive), a
/// key-value lookup (sensitive) and a small handler (mildly sensitive).
std::vector<CacheCurve> SyntheticCacheMix();

/// Poisson arrivals at `rate` per second over `curves`, chosen uniformly, each
/// with an exponential duration of its mean; `count` in all.
class CacheMixSource final : public workload::ArrivalSource {
 public:
  CacheMixSource(std::vector<CacheCurve> curves, double rate, uint64_t count, uint64_t seed);
  bool Next(workload::Arrival* arrival) override;
  const std::vector<std::string>& functions() const override { return names_; }
  /// Busy slot-seconds offered per second: rate · mean duration.
  double offered_load() const;

 private:
  std::vector<CacheCurve> curves_;
  std::vector<std::string> names_;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> gap_;
  double rate_;
  uint64_t left_;
  double now_ = 0;
};

}  // namespace fsched::sim
