#include "tools/fsched-sim/cache_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fsched::sim {

double CacheSlowdown(const CacheCurve& curve, double ways, uint32_t total_ways) {
  const auto at = [&](double x) {
    return curve.alpha + curve.beta / (1 + std::sqrt(std::max(x - 1, 0.0)));
  };
  return at(std::max(ways, 1.0)) / at(total_ways);
}

absl::Status ValidatePartitioning(const std::string& name) {
  if (name == "off" || name == "none" || name == "equal" || name == "predicted") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cache partitioning '", name, "' is not off, none, equal or predicted"));
}

std::vector<CacheCurve> SyntheticCacheMix() {
  return {
      {"stream", 0.97, 0.03, 20, 0.2},  // scans far more than the cache; gains nothing from it
      {"matrix", 0.3, 2.0, 8, 0.5},     // 3.4x slower on one way than on twenty
      {"kv", 0.6, 0.8, 4, 0.1},         // 1.9x
      {"small", 0.8, 0.3, 2, 0.05},     // 1.3x
  };
}

CacheMixSource::CacheMixSource(std::vector<CacheCurve> curves, double rate, uint64_t count,
                               uint64_t seed)
    : curves_(std::move(curves)), rng_(seed), gap_(rate), rate_(rate), left_(count) {
  for (const CacheCurve& c : curves_) names_.push_back(c.name);
}

bool CacheMixSource::Next(workload::Arrival* arrival) {
  if (left_ == 0 || curves_.empty()) return false;
  --left_;
  now_ += gap_(rng_);
  const auto f =
      static_cast<uint32_t>(std::uniform_int_distribution<size_t>(0, curves_.size() - 1)(rng_));
  arrival->time = now_;
  arrival->function = f;
  arrival->duration = std::exponential_distribution<double>(1.0 / curves_[f].mean_seconds)(rng_);
  return true;
}

double CacheMixSource::offered_load() const {
  double mean = 0;
  for (const CacheCurve& c : curves_) mean += c.mean_seconds;
  return curves_.empty() ? 0 : rate_ * mean / static_cast<double>(curves_.size());
}

}  // namespace fsched::sim
