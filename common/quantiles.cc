#include "common/quantiles.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fsched {
namespace {
double SortedQuantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}
}  // namespace

double Quantile(std::vector<double> samples, double q) {
  std::sort(samples.begin(), samples.end());
  return SortedQuantile(samples, q);
}

Summary Summarize(std::vector<double> samples) {
  Summary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.count);
  double sq = 0;
  for (double v : samples) sq += (v - s.mean) * (v - s.mean);
  s.stddev = s.count > 1 ? std::sqrt(sq / static_cast<double>(s.count - 1)) : 0;
  s.p50 = SortedQuantile(samples, 0.50);
  s.p90 = SortedQuantile(samples, 0.90);
  s.p95 = SortedQuantile(samples, 0.95);
  s.p99 = SortedQuantile(samples, 0.99);
  return s;
}

void SlidingWindow::Add(absl::Time at, double value) {
  samples_.push_back({at, value});
  sum_ += value;
  while (samples_.size() > max_) DropOldest();
}

void SlidingWindow::Expire(absl::Time now) {
  while (!samples_.empty() && samples_.front().at < now - span_) DropOldest();
}

void SlidingWindow::DropOldest() {
  sum_ -= samples_.front().value;
  samples_.pop_front();
  // An empty window starts its sum afresh, so rounding never outlives the
  // samples that made it.
  if (samples_.empty()) sum_ = 0;
}

double SlidingWindow::Mean() const {
  return samples_.empty() ? 0 : sum_ / static_cast<double>(samples_.size());
}

std::vector<double> SlidingWindow::Values() const {
  std::vector<double> out;
  out.reserve(samples_.size());
  for (const Sample& s : samples_) out.push_back(s.value);
  return out;
}

}  // namespace fsched
