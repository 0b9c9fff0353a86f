#include "master/aging_srtf_order.h"

namespace fsched::master {

void AgingSrtfOrder::Push(PendingInvocation pending) {
  if (base_ == absl::InfinitePast()) base_ = pending.enqueued;
  if (auto old = token_of_.find(pending.id); old != token_of_.end()) entries_.erase(old->second);
  const uint64_t token = next_token_++;
  const double enqueued = absl::ToDoubleSeconds(pending.enqueued - base_);
  by_priority_.push({pending.predicted_seconds + aging_rate_ * enqueued, pending.sequence, token});
  by_age_.push({enqueued, pending.sequence, token});
  token_of_[pending.id] = token;
  entries_.emplace(token, std::move(pending));
  has_peeked_ = false;
}

void AgingSrtfOrder::Clean(MinHeap& heap) {
  while (!heap.empty() && !entries_.contains(heap.top().token)) heap.pop();
}

const PendingInvocation* AgingSrtfOrder::Peek(absl::Time now) {
  Clean(by_priority_);
  Clean(by_age_);
  if (by_priority_.empty()) {
    has_peeked_ = false;
    return nullptr;
  }
  uint64_t token = by_priority_.top().token;
  if (max_wait_ != absl::InfiniteDuration()) {
    const uint64_t oldest = by_age_.top().token;
    if (now - entries_.at(oldest).enqueued > max_wait_) token = oldest;  // starvation guard
  }
  peeked_ = token;
  has_peeked_ = true;
  return &entries_.at(token);
}

void AgingSrtfOrder::Pop() {
  if (!has_peeked_ || !entries_.contains(peeked_)) {
    // Pop without a Peek: take what Peek would have, ignoring the age guard.
    Clean(by_priority_);
    if (by_priority_.empty()) return;
    peeked_ = by_priority_.top().token;
  }
  auto it = entries_.find(peeked_);
  token_of_.erase(it->second.id);
  entries_.erase(it);
  has_peeked_ = false;
}

bool AgingSrtfOrder::Remove(const std::string& id) {
  auto it = token_of_.find(id);
  if (it == token_of_.end()) return false;
  entries_.erase(it->second);
  token_of_.erase(it);
  has_peeked_ = false;
  return true;
}

}  // namespace fsched::master
