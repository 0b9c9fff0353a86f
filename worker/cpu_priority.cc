#include "worker/cpu_priority.h"

#include <algorithm>
#include <numeric>

#include "common/log.h"
#include "common/thread_name.h"

namespace fsched::worker {

std::vector<uint64_t> PriorityShares(const std::vector<RunningFunction>& running,
                                     const CpuPriorityOptions& options) {
  std::vector<uint64_t> shares(running.size(), options.default_shares);
  std::vector<std::pair<double, size_t>> scored;
  for (size_t i = 0; i < running.size(); ++i) {
    const RunningFunction& f = running[i];
    if (f.predicted_s <= 0) continue;  // no prediction yet: neither favoured nor held back
    // Past its prediction a function is still expected to need some time: a
    // tenth of the prediction, so an overrun is not mistaken for "almost done".
    const double remaining = std::max(f.predicted_s - f.elapsed_s, 0.1 * f.predicted_s);
    scored.push_back({remaining / (1 + options.aging_rate * std::max(0.0, f.elapsed_s)), i});
  }
  std::sort(scored.begin(), scored.end());
  int rank = -1;
  double rank_score = -1;
  for (const auto& [score, i] : scored) {
    if (rank < 0 || score > rank_score * 1.05) {
      ++rank;
      rank_score = score;
    }
    const uint64_t s = rank >= 63 ? 0 : options.top_shares >> rank;
    shares[i] = std::max(s, options.min_shares);
  }
  return shares;
}

CpuPriorityLoop::CpuPriorityLoop(CpuPriorityOptions options, const Cgroups* cgroups, Source source)
    : options_(options), cgroups_(cgroups), source_(std::move(source)) {
  thread_ = std::thread([this] {
    NameThisThread("cpu-priority");
    while (!stop_.WaitForNotificationWithTimeout(options_.tick)) Apply();
  });
}

CpuPriorityLoop::~CpuPriorityLoop() {
  stop_.Notify();
  thread_.join();
}

void CpuPriorityLoop::Apply() {
  const std::vector<RunningFunction> running = source_();
  const std::vector<uint64_t> shares = PriorityShares(running, options_);
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, uint64_t>> written;
  for (size_t i = 0; i < running.size(); ++i) {
    const std::string& cgroup = running[i].cgroup;
    auto before = std::find_if(written_.begin(), written_.end(),
                               [&](const auto& w) { return w.first == cgroup; });
    const bool unchanged = before != written_.end() && before->second == shares[i];
    if (!unchanged) {
      // A container that just ended has no cgroup any more: nothing to weigh.
      if (absl::Status s = cgroups_->SetCpuShares(cgroup, shares[i]); !s.ok()) {
        FSCHED_LOG(kDebug, "cpu priority: %s", s.message());
        continue;
      }
    }
    written.push_back({cgroup, shares[i]});
  }
  written_ = std::move(written);
}

}  // namespace fsched::worker
