#include "scheduling/aging_srtf_order.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace fsched::scheduling {
namespace {

double Seconds(absl::Duration d) {
  return d == absl::InfiniteDuration() ? INFINITY : absl::ToDoubleSeconds(d);
}

double Work(const PendingInvocation& p) {
  return std::max(p.typical_seconds > 0 ? p.typical_seconds : p.predicted_seconds, 0.0);
}

}  // namespace

AgingSrtfOrder::AgingSrtfOrder(const QueueOrderOptions& options, std::string name)
    : aging_rate_(options.aging_rate),
      max_wait_seconds_(Seconds(options.max_wait)),
      min_wait_seconds_(Seconds(options.min_wait)),
      fifo_wait_factor_(options.fifo_wait_factor),
      slowdown_bound_(options.slowdown_bound),
      name_(std::move(name)) {}

double AgingSrtfOrder::Bound(double predicted) const {
  if (fifo_wait_factor_ <= 0 && slowdown_bound_ <= 0) return max_wait_seconds_;
  double bound = min_wait_seconds_;
  if (slowdown_bound_ > 0) bound = std::max(bound, slowdown_bound_ * predicted);
  if (fifo_wait_factor_ > 0 && queued_work_ > 0) {
    // No slots: FIFO would make it wait until some come, so only max_wait bounds it.
    const double fifo_wait = capacity_ > 0 ? queued_work_ / capacity_ : INFINITY;
    bound = std::max(bound, fifo_wait_factor_ * fifo_wait);
  }
  return std::min(bound, max_wait_seconds_);
}

void AgingSrtfOrder::Push(PendingInvocation pending) {
  if (base_ == absl::InfinitePast()) base_ = pending.enqueued;
  if (auto old = slot_of_.find(pending.id); old != slot_of_.end()) {
    const uint32_t slot = old->second;
    slot_of_.erase(old);
    Release(slot);
  }
  const double enqueued = absl::ToDoubleSeconds(pending.enqueued - base_);
  const double due = enqueued + Bound(std::max(pending.predicted_seconds, 0.0));
  Insert(std::move(pending), due, /*fresh=*/true);
}

void AgingSrtfOrder::Unpop(PendingInvocation pending) {
  // Entries come back in the reverse order of their pops: the match is near the end.
  const uint64_t hash = absl::HashOf(pending.id);
  for (auto it = recent_pops_.rbegin(); it != recent_pops_.rend(); ++it) {
    if (it->first != hash) continue;
    const double due = it->second;
    recent_pops_.erase(std::next(it).base());
    Insert(std::move(pending), due, /*fresh=*/false);
    return;
  }
  Push(std::move(pending));
}

void AgingSrtfOrder::Insert(PendingInvocation pending, double due, bool fresh) {
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
  s.due = due;
  const uint64_t tag = s.push << kSlotBits | slot;
  const double enqueued = absl::ToDoubleSeconds(pending.enqueued - base_);
  by_priority_.push({pending.predicted_seconds + aging_rate_ * enqueued, tag});
  if (due < INFINITY) by_due_.push({due, tag});
  FunctionBacklog& backlog = backlog_[pending.function];
  if (fresh || backlog.queued == 0) {
    const double work = Work(pending);
    queued_work_ += backlog.queued * (work - backlog.work);
    backlog.work = work;
  }
  ++backlog.queued;
  queued_work_ += backlog.work;
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
  auto backlog = backlog_.find(out.function);
  queued_work_ -= backlog->second.work;
  if (--backlog->second.queued == 0) backlog_.erase(backlog);
  // The running sum drifts by rounding; an empty queue holds no work.
  if (slot_of_.empty() || queued_work_ < 0) queued_work_ = 0;
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
  // The due heap's key is the due time itself: the guard needs no lookup.
  if (!by_due_.empty()) {
    Clean(by_due_);
    if (!by_due_.empty() && by_due_.top().value < absl::ToDoubleSeconds(now - base_)) {
      peeked_ = by_due_.top();
    }
  }
  return &slots_[peeked_->slot()].pending;
}

std::optional<PendingInvocation> AgingSrtfOrder::Pop() {
  if (!peeked_ || !Current(*peeked_)) {
    // Pop without a Peek: take what Peek would have, ignoring the guard.
    Clean(by_priority_);
    if (by_priority_.empty()) return std::nullopt;
    peeked_ = by_priority_.top();
  }
  const uint32_t slot = peeked_->slot();
  peeked_.reset();
  const Slot& s = slots_[slot];
  if (fifo_wait_factor_ > 0) {
    recent_pops_.emplace_back(absl::HashOf(s.pending.id), s.due);
    if (recent_pops_.size() > kRecentPops) recent_pops_.pop_front();
  }
  slot_of_.erase(s.pending.id);
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
