#include "master/fifo_order.h"

namespace fsched::master {

void FifoOrder::Push(PendingInvocation pending) {
  const uint64_t token = next_token_++;
  live_[pending.id] = token;
  queue_.emplace_back(token, std::move(pending));
}

void FifoOrder::SkipRemoved() {
  while (!queue_.empty()) {
    auto it = live_.find(queue_.front().second.id);
    if (it != live_.end() && it->second == queue_.front().first) return;
    queue_.pop_front();
  }
}

const PendingInvocation* FifoOrder::Peek(absl::Time) {
  SkipRemoved();
  return queue_.empty() ? nullptr : &queue_.front().second;
}

void FifoOrder::Pop() {
  SkipRemoved();
  if (queue_.empty()) return;
  live_.erase(queue_.front().second.id);
  queue_.pop_front();
}

bool FifoOrder::Remove(const std::string& id) { return live_.erase(id) > 0; }

}  // namespace fsched::master
