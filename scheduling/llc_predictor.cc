#include "scheduling/llc_predictor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fsched::scheduling {
namespace {

double Phi(double ways) { return 1.0 / (1.0 + std::sqrt(std::max(ways - 1.0, 0.0))); }

LlcFit FitOf(const v1::LlcProfile& p) { return {p.fit_a(), p.fit_b()}; }

// How far apart two input sizes are: by ratio where both are given.
double SizeDistance(double a, double b) {
  if (a > 0 && b > 0) return std::abs(std::log(a / b));
  return std::abs(a - b) + 1e9 * ((a > 0) != (b > 0));
}

}  // namespace

double LlcFit::At(double ways) const { return a + b * Phi(ways); }

double LlcFit::MarginalGain(double ways) const {
  const double s = std::sqrt(std::max(ways - 1.0, 0.0));
  if (s == 0) return b > 0 ? std::numeric_limits<double>::infinity() : 0;
  return b / (2.0 * s * (1.0 + s) * (1.0 + s));
}

absl::StatusOr<LlcFit> FitLlcCurve(const std::vector<std::pair<uint32_t, double>>& points) {
  double sum_phi = 0, sum_t = 0;
  for (const auto& [ways, seconds] : points) {
    if (ways < 1) return absl::InvalidArgumentError("a benchmark point has 0 cache ways");
    if (!std::isfinite(seconds) || seconds < 0) {
      return absl::InvalidArgumentError("a benchmark point has a negative or non-finite time");
    }
    sum_phi += Phi(ways);
    sum_t += seconds;
  }
  const double n = static_cast<double>(points.size());
  if (points.size() < 2) {
    return absl::InvalidArgumentError("fitting a cache curve needs at least two way counts");
  }
  const double mean_phi = sum_phi / n, mean_t = sum_t / n;
  double var = 0, cov = 0;
  for (const auto& [ways, seconds] : points) {
    const double d = Phi(ways) - mean_phi;
    var += d * d;
    cov += d * (seconds - mean_t);
  }
  if (var <= 0) {
    return absl::InvalidArgumentError(
        "fitting a cache curve needs at least two distinct way counts");
  }
  LlcFit fit;
  fit.b = cov / var;
  fit.a = mean_t - fit.b * mean_phi;
  return fit;
}

double Generosity(uint32_t free_ways_in_cluster) {
  return 2.0 / std::max<double>(free_ways_in_cluster, 20.0);
}

uint32_t AllocateWays(const LlcFit& fit, double generosity, uint32_t max_ways) {
  if (max_ways == 0) return 0;
  const double one_way = fit.At(1);
  if (fit.b <= 0 || one_way <= 0) return 1;
  for (uint32_t x = 1; x < max_ways; ++x) {
    if (fit.MarginalGain(x) <= generosity * one_way) return x;
  }
  return max_ways;
}

absl::StatusOr<v1::LlcProfile> LlcPredictor::AddBenchmark(
    const std::string& function, double input_size,
    const std::vector<std::pair<uint32_t, double>>& points) {
  absl::StatusOr<LlcFit> fit = FitLlcCurve(points);
  if (!fit.ok()) return fit.status();
  v1::LlcProfile profile;
  profile.set_function(function);
  profile.set_input_size(input_size);
  for (const auto& [ways, seconds] : points) {
    profile.add_ways(ways);
    profile.add_seconds(seconds);
  }
  profile.set_fit_a(fit->a);
  profile.set_fit_b(fit->b);
  absl::MutexLock lock(&mu_);
  profiles_[function][input_size] = profile;
  return profile;
}

void LlcPredictor::Observe(const std::string& function, uint32_t ways, double seconds) {
  if (ways == 0) return;
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<uint32_t, double>>& seen = observed_[function];
  if (seen.size() == kObservations) seen.erase(seen.begin());
  seen.emplace_back(ways, seconds);
}

absl::StatusOr<LlcPredictor::Prediction> LlcPredictor::Predict(const std::string& function,
                                                               double input_size,
                                                               uint32_t free_ways_in_cluster,
                                                               uint32_t max_ways) const {
  const double g = Generosity(free_ways_in_cluster);
  absl::MutexLock lock(&mu_);
  Prediction out;
  if (auto it = profiles_.find(function); it != profiles_.end() && !it->second.empty()) {
    const v1::LlcProfile* nearest = nullptr;
    for (const auto& [size, profile] : it->second) {
      if (nearest == nullptr ||
          SizeDistance(size, input_size) < SizeDistance(nearest->input_size(), input_size)) {
        nearest = &profile;
      }
    }
    LlcFit fit = FitOf(*nearest);
    out.benchmarked = nearest->input_size() == input_size;
    if (!out.benchmarked) {
      const double scale =
          input_size > 0 && nearest->input_size() > 0 ? input_size / nearest->input_size() : 1.0;
      fit.a *= scale;
      fit.b *= scale;
      out.basis =
          absl::StrFormat("scaled from the benchmark at input size %g", nearest->input_size());
    } else {
      out.basis = absl::StrFormat("benchmarked at input size %g", input_size);
    }
    out.ways = AllocateWays(fit, g, max_ways);
    out.predicted_seconds = fit.At(std::max<uint32_t>(out.ways, 1));
    return out;
  }
  auto seen = observed_.find(function);
  if (seen != observed_.end() && !seen->second.empty()) {
    const v1::LlcProfile* best = nullptr;
    double best_error = std::numeric_limits<double>::infinity();
    for (const auto& [name, sizes] : profiles_) {
      for (const auto& [size, profile] : sizes) {
        const LlcFit fit = FitOf(profile);
        double error = 0;
        for (const auto& [ways, seconds] : seen->second) {
          const double d = fit.At(ways) - seconds;
          error += d * d;
        }
        if (error < best_error) {
          best_error = error;
          best = &profile;
        }
      }
    }
    if (best != nullptr) {
      const LlcFit fit = FitOf(*best);
      out.ways = AllocateWays(fit, g, max_ways);
      out.predicted_seconds = fit.At(std::max<uint32_t>(out.ways, 1));
      out.basis = absl::StrFormat("nearest profile: %s at input size %g", best->function(),
                                  best->input_size());
      return out;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("not ready: ", function,
                   " has no cache profile and none to borrow; benchmark it first "
                   "(BenchmarkTask, or fschedctl task benchmark)"));
}

bool LlcPredictor::HasProfile(const std::string& function) const {
  absl::MutexLock lock(&mu_);
  auto it = profiles_.find(function);
  return it != profiles_.end() && !it->second.empty();
}

bool LlcPredictor::CanPredict(const std::string& function) const {
  absl::MutexLock lock(&mu_);
  if (auto it = profiles_.find(function); it != profiles_.end() && !it->second.empty()) {
    return true;
  }
  auto seen = observed_.find(function);
  return seen != observed_.end() && !seen->second.empty() && !profiles_.empty();
}

std::vector<double> LlcPredictor::BenchmarkedSizes(const std::string& function) const {
  absl::MutexLock lock(&mu_);
  std::vector<double> out;
  if (auto it = profiles_.find(function); it != profiles_.end()) {
    for (const auto& [size, profile] : it->second) out.push_back(size);
  }
  return out;
}

std::vector<v1::LlcProfile> LlcPredictor::Profiles() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::LlcProfile> out;
  for (const auto& [name, sizes] : profiles_) {
    for (const auto& [size, profile] : sizes) out.push_back(profile);
  }
  return out;
}

void LlcPredictor::Import(const v1::LlcProfile& profile) {
  absl::MutexLock lock(&mu_);
  profiles_[profile.function()][profile.input_size()] = profile;
}

}  // namespace fsched::scheduling
