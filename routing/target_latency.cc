#include "routing/target_latency.h"

#include <algorithm>

namespace fsched::routing {

double OffloadPenalty(uint32_t hop) { return 1.0 + 0.3 * hop; }

void TargetLatency::Record(const std::string& target, absl::Duration elapsed, uint32_t hop) {
  const double seconds = absl::ToDoubleSeconds(elapsed) * OffloadPenalty(hop);
  absl::MutexLock lock(&mu_);
  Stats& stats = targets_[target];
  stats.window.Add(clock_->Now(), seconds);
  stats.down_until = absl::InfinitePast();
}

void TargetLatency::MarkDown(const std::string& target) {
  absl::MutexLock lock(&mu_);
  targets_[target].down_until = clock_->Now() + kDownFor;
}

void TargetLatency::RecordLoad(const std::string& target, double load) {
  absl::MutexLock lock(&mu_);
  Stats& stats = targets_[target];
  stats.load = load;
  stats.load_at = clock_->Now();
}

bool TargetLatency::SaidBusy(const std::string& target, double threshold) {
  absl::MutexLock lock(&mu_);
  auto it = targets_.find(target);
  return it != targets_.end() && it->second.load >= threshold &&
         clock_->Now() - it->second.load_at < kLoadFresh;
}

double TargetLatency::MeanSeconds(const std::string& target) {
  absl::MutexLock lock(&mu_);
  auto it = targets_.find(target);
  if (it == targets_.end()) return 0;
  it->second.window.Expire(clock_->Now());
  return it->second.window.Mean();
}

std::vector<NodeRef> TargetLatency::Order(std::vector<NodeRef> targets) {
  const absl::Time now = clock_->Now();
  std::vector<NodeRef> unseen, down, out;
  std::vector<std::pair<NodeRef, double>> weighted;  // weight 1/mean
  absl::MutexLock lock(&mu_);
  for (NodeRef& t : targets) {
    auto it = targets_.find(t.id);
    if (it != targets_.end() && it->second.down_until > now) {
      down.push_back(std::move(t));
      continue;
    }
    double mean = 0;
    if (it != targets_.end()) {
      it->second.window.Expire(now);
      mean = it->second.window.Mean();
    }
    if (it == targets_.end() || it->second.window.size() == 0) {
      unseen.push_back(std::move(t));
    } else {
      weighted.emplace_back(std::move(t), mean > 0 ? 1 / mean : 1e9);
    }
  }
  std::shuffle(unseen.begin(), unseen.end(), rng_);
  out = std::move(unseen);
  while (!weighted.empty()) {
    double total = 0;
    for (const auto& [t, w] : weighted) total += w;
    double draw = std::uniform_real_distribution<double>(0, total)(rng_);
    size_t pick = weighted.size() - 1;
    for (size_t i = 0; i < weighted.size(); ++i) {
      draw -= weighted[i].second;
      if (draw <= 0) {
        pick = i;
        break;
      }
    }
    out.push_back(std::move(weighted[pick].first));
    weighted.erase(weighted.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  for (NodeRef& t : down) out.push_back(std::move(t));
  return out;
}

}  // namespace fsched::routing
