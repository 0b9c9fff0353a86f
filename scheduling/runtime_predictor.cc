#include "scheduling/runtime_predictor.h"

#include <algorithm>
#include <cmath>

namespace fsched::scheduling {

std::vector<double> RuntimePredictor::History::Ordered(size_t capacity) const {
  std::vector<double> out;
  out.reserve(ring.size());
  const size_t n = ring.size();
  // A full ring's oldest sample sits where the next write goes.
  const size_t start = n == capacity ? next : 0;
  for (size_t i = 0; i < n; ++i) out.push_back(ring[(start + i) % n]);
  return out;
}

RuntimePredictor::Estimate RuntimePredictor::FromHistory(const History& h) const {
  Estimate e;
  const size_t count = h.ring.size();
  e.samples = count;
  if (count == 0) return e;
  // One pass over the samples oldest first: a full ring's oldest sample sits
  // where the next write goes, so walk [start, end) then [0, start).
  const size_t start = count == options_.history ? h.next : 0;
  double sum = 0, sum_sq = 0, sum_ix = 0;
  double i = 0;
  for (size_t k = start; k < count; ++k, ++i) {
    const double x = h.ring[k];
    sum += x;
    sum_sq += x * x;
    sum_ix += i * x;
  }
  for (size_t k = 0; k < start; ++k, ++i) {
    const double x = h.ring[k];
    sum += x;
    sum_sq += x * x;
    sum_ix += i * x;
  }
  const double n = static_cast<double>(count);
  const double mean = sum / n;
  e.sigma = count > 1 ? std::sqrt(std::max(0.0, (sum_sq - n * mean * mean) / (n - 1))) : 0;
  // Least-squares line over the sample index, read at the next index.
  double trend = mean;
  if (count >= 2) {
    const double mean_i = (n - 1) / 2;
    const double sxy = sum_ix - mean_i * sum;  // sum of (i - mean_i)(x - mean)
    const double sxx = n * (n * n - 1) / 12;   // sum of (i - mean_i)^2
    const double slope = sxy / sxx;
    trend = std::max(0.0, mean + slope * (n - mean_i));
  }
  e.tsi = (mean + h.ewma + trend) / 3;
  e.tsu = std::max(0.7 * e.tsi - 0.3 * e.sigma, 0.0);
  std::vector<double> sorted(h.ring);
  const auto middle = sorted.begin() + static_cast<std::ptrdiff_t>(count / 2);
  std::nth_element(sorted.begin(), middle, sorted.end());
  e.median = *middle;
  if (count % 2 == 0) e.median = (e.median + *std::max_element(sorted.begin(), middle)) / 2;
  return e;
}

RuntimePredictor::Estimate RuntimePredictor::Predict(const std::string& function,
                                                     double input_size) const {
  absl::MutexLock lock(&mu_);
  Estimate fallback;
  fallback.tsi = fallback.tsu = fallback.median = absl::ToDoubleSeconds(options_.default_estimate);
  auto it = models_.find(function);
  if (it == models_.end() || it->second.by_size.empty()) return fallback;
  const auto& by_size = it->second.by_size;
  if (auto exact = by_size.find(input_size); exact != by_size.end()) {
    return exact->second.estimate;
  }
  // Scale from the sizes seen: a power law through their estimates (log-log fit).
  std::vector<std::pair<double, double>> points;  // (log size, log tsi)
  Estimate nearest;
  double nearest_distance = INFINITY;
  for (const auto& [size, history] : by_size) {
    const Estimate& e = history.estimate;
    if (size > 0 && e.tsi > 0) points.emplace_back(std::log(size), std::log(e.tsi));
    const double d = std::abs(size - input_size);
    if (d < nearest_distance) {
      nearest_distance = d;
      nearest = e;
    }
  }
  Estimate scaled = nearest;
  scaled.samples = 0;
  if (points.size() >= 2 && input_size > 0) {
    double mx = 0, my = 0;
    for (auto [lx, ly] : points) {
      mx += lx;
      my += ly;
    }
    mx /= static_cast<double>(points.size());
    my /= static_cast<double>(points.size());
    double sxy = 0, sxx = 0;
    for (auto [lx, ly] : points) {
      sxy += (lx - mx) * (ly - my);
      sxx += (lx - mx) * (lx - mx);
    }
    if (sxx > 0) {
      const double b = sxy / sxx;
      const double log_a = my - b * mx;
      const double ratio =
          nearest.tsi > 0 ? std::exp(log_a + b * std::log(input_size)) / nearest.tsi : 1;
      scaled.tsi = nearest.tsi * ratio;
      scaled.sigma = nearest.sigma * ratio;
      scaled.median = nearest.median * ratio;
      scaled.tsu = std::max(0.7 * scaled.tsi - 0.3 * scaled.sigma, 0.0);
    }
  }
  return scaled;
}

void RuntimePredictor::Observe(const std::string& function, double input_size, double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return;
  absl::MutexLock lock(&mu_);
  History& h = models_[function].by_size[input_size];
  h.ewma = h.observations == 0
               ? seconds
               : options_.ewma_weight * seconds + (1 - options_.ewma_weight) * h.ewma;
  if (h.ring.size() < options_.history) {
    h.ring.push_back(seconds);
  } else {
    h.ring[h.next] = seconds;
  }
  h.next = (h.next + 1) % options_.history;
  ++h.observations;
  h.estimate = FromHistory(h);
  dirty_.insert(function);
}

void RuntimePredictor::Forget(const std::string& function) {
  absl::MutexLock lock(&mu_);
  models_.erase(function);
  dirty_.erase(function);
}

v1::RuntimeModel RuntimePredictor::Export(const std::string& function) const {
  absl::MutexLock lock(&mu_);
  v1::RuntimeModel model;
  model.set_function(function);
  auto it = models_.find(function);
  if (it == models_.end()) return model;
  for (const auto& [size, history] : it->second.by_size) {
    v1::RuntimeHistory* out = model.add_histories();
    out->set_input_size(size);
    for (double v : history.Ordered(options_.history)) out->add_seconds(v);
    out->set_ewma_seconds(history.ewma);
    out->set_observations(history.observations);
  }
  return model;
}

void RuntimePredictor::Import(const v1::RuntimeModel& model) {
  absl::MutexLock lock(&mu_);
  FunctionModel& fm = models_[model.function()];
  fm.by_size.clear();
  for (const v1::RuntimeHistory& in : model.histories()) {
    History& h = fm.by_size[in.input_size()];
    const int n = in.seconds_size();
    const int keep = std::min<int>(n, static_cast<int>(options_.history));
    h.ring.assign(in.seconds().begin() + (n - keep), in.seconds().end());
    h.next = h.ring.size() % options_.history;
    h.ewma = in.ewma_seconds();
    h.observations = std::max<uint64_t>(in.observations(), h.ring.size());
    h.estimate = FromHistory(h);
  }
}

std::vector<std::string> RuntimePredictor::TakeDirty() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out(dirty_.begin(), dirty_.end());
  dirty_.clear();
  return out;
}

}  // namespace fsched::scheduling
