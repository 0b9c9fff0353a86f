#include "scheduling/fifo_order.h"

namespace fsched::scheduling {

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

std::optional<PendingInvocation> FifoOrder::Pop() {
  SkipRemoved();
  if (queue_.empty()) return std::nullopt;
  std::optional<PendingInvocation> out(std::move(queue_.front().second));
  live_.erase(out->id);
  queue_.pop_front();
  return out;
}

void FifoOrder::Unpop(PendingInvocation pending) {
  SkipRemoved();
  const uint64_t token = queue_.empty() ? next_token_++ : queue_.front().first - 1;
  live_[pending.id] = token;
  queue_.emplace_front(token, std::move(pending));
}

bool FifoOrder::Remove(const std::string& id) { return live_.erase(id) > 0; }

const PendingInvocation* FifoOrder::Find(const std::string& id) const {
  auto it = live_.find(id);
  if (it == live_.end()) return nullptr;
  // Tokens are consecutive and only the front is ever dropped, so a live
  // token's position is its distance from the front's.
  return &queue_[it->second - queue_.front().first].second;
}

}  // namespace fsched::scheduling
