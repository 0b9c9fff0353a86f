#include "scheduling/aging_srtf_order.h"

namespace fsched::scheduling {

void AgingSrtfOrder::Push(PendingInvocation pending) {
  if (base_ == absl::InfinitePast()) base_ = pending.enqueued;
  if (auto old = slot_of_.find(pending.id); old != slot_of_.end()) {
    const uint32_t slot = old->second;
    slot_of_.erase(old);
    Release(slot);
  }
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Slot& s = slots_[slot];
  s.push = pushes_++ & ((uint64_t{1} << (64 - kSlotBits)) - 1);
  const uint64_t tag = s.push << kSlotBits | slot;
  const double enqueued = absl::ToDoubleSeconds(pending.enqueued - base_);
  by_priority_.push({pending.predicted_seconds + aging_rate_ * enqueued, tag});
  if (max_wait_seconds_ < INFINITY) by_age_.push({enqueued, tag});
  slot_of_[pending.id] = slot;
  s.pending = std::move(pending);
  s.live = true;
  peeked_.reset();
}

PendingInvocation AgingSrtfOrder::Release(uint32_t slot) {
  Slot& s = slots_[slot];
  PendingInvocation out = std::move(s.pending);
  s.live = false;
  free_slots_.push_back(slot);
  return out;
}

void AgingSrtfOrder::Clean(MinHeap& heap) {
  while (!heap.empty() && !Current(heap.top())) heap.pop();
}

const PendingInvocation* AgingSrtfOrder::Peek(absl::Time now) {
  Clean(by_priority_);
  if (by_priority_.empty()) {
    peeked_.reset();
    return nullptr;
  }
  peeked_ = by_priority_.top();
  // The age heap's key is the enqueue time (seconds after base_): the guard needs no lookup.
  if (max_wait_seconds_ < INFINITY) {
    Clean(by_age_);
    if (absl::ToDoubleSeconds(now - base_) - by_age_.top().value > max_wait_seconds_) {
      peeked_ = by_age_.top();
    }
  }
  return &slots_[peeked_->slot()].pending;
}

std::optional<PendingInvocation> AgingSrtfOrder::Pop() {
  if (!peeked_ || !Current(*peeked_)) {
    // Pop without a Peek: take what Peek would have, ignoring the age guard.
    Clean(by_priority_);
    if (by_priority_.empty()) return std::nullopt;
    peeked_ = by_priority_.top();
  }
  const uint32_t slot = peeked_->slot();
  peeked_.reset();
  slot_of_.erase(slots_[slot].pending.id);
  return Release(slot);
}

bool AgingSrtfOrder::Remove(const std::string& id) {
  auto it = slot_of_.find(id);
  if (it == slot_of_.end()) return false;
  const uint32_t slot = it->second;
  slot_of_.erase(it);
  Release(slot);
  peeked_.reset();
  return true;
}

const PendingInvocation* AgingSrtfOrder::Find(const std::string& id) const {
  auto it = slot_of_.find(id);
  return it == slot_of_.end() ? nullptr : &slots_[it->second].pending;
}

}  // namespace fsched::scheduling
