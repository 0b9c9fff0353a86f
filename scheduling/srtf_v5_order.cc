#include "scheduling/srtf_v5_order.h"

#include <algorithm>

namespace fsched::scheduling {
namespace {
// A zero prediction would make 0.8/remaining infinite; a millisecond is the floor.
constexpr double kMinRemaining = 1e-3;
}  // namespace

void SrtfV5Order::Push(PendingInvocation pending) {
  if (auto it = index_of_.find(pending.id); it != index_of_.end()) EraseAt(it->second);
  index_of_[pending.id] = entries_.size();
  entries_.push_back(std::move(pending));
  peeked_ = SIZE_MAX;
}

const PendingInvocation* SrtfV5Order::Peek(absl::Time now) {
  last_now_ = now;
  if (entries_.empty()) return nullptr;
  double mean_wait = 0;
  for (const auto& e : entries_) mean_wait += absl::ToDoubleSeconds(now - e.enqueued);
  mean_wait /= static_cast<double>(entries_.size());
  const double beta = std::clamp(mean_wait, 0.1, 1.0);
  size_t best = 0;
  double best_priority = -1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const PendingInvocation& e = entries_[i];
    const double priority = 0.8 / std::max(e.predicted_seconds, kMinRemaining) +
                            beta * absl::ToDoubleSeconds(now - e.enqueued);
    if (priority > best_priority ||
        (priority == best_priority && e.sequence < entries_[best].sequence)) {
      best = i;
      best_priority = priority;
    }
  }
  peeked_ = best;
  return &entries_[best];
}

std::optional<PendingInvocation> SrtfV5Order::Pop() {
  if (entries_.empty()) return std::nullopt;
  if (peeked_ >= entries_.size()) Peek(last_now_);
  std::optional<PendingInvocation> out(entries_[peeked_]);
  EraseAt(peeked_);
  peeked_ = SIZE_MAX;
  return out;
}

bool SrtfV5Order::Remove(const std::string& id) {
  auto it = index_of_.find(id);
  if (it == index_of_.end()) return false;
  EraseAt(it->second);
  peeked_ = SIZE_MAX;
  return true;
}

const PendingInvocation* SrtfV5Order::Find(const std::string& id) const {
  auto it = index_of_.find(id);
  return it == index_of_.end() ? nullptr : &entries_[it->second];
}

void SrtfV5Order::EraseAt(size_t index) {
  index_of_.erase(entries_[index].id);
  if (index != entries_.size() - 1) {
    entries_[index] = std::move(entries_.back());
    index_of_[entries_[index].id] = index;
  }
  entries_.pop_back();
}

}  // namespace fsched::scheduling
