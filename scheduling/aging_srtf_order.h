// Shortest predicted run time first, with linear aging and a starvation guard.
//
// effective = predicted − aging_rate · waited = (predicted + aging_rate · enqueued)
// − aging_rate · now. The last term is the same for every entry, so the order is
// time-invariant and a heap keyed on predicted + aging_rate · enqueued gives
// O(log n) push and pop with no periodic re-sort.
//
// The guard gives each entry a due time at push (QueueOrderOptions); an entry
// past it goes first, earliest due first, found through a second heap on the
// due time. With a fixed bound (max_wait) that is oldest first. The
// FIFO-relative bound scales with the backlog: in a burst, when FIFO itself
// would make everyone wait minutes, SRTF keeps ordering the queue instead of
// the guard turning it into FIFO, and no entry waits much longer than FIFO
// would have made it. With aging_rate 0 and an infinite max_wait this is plain
// SRTF.
#pragma once

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "scheduling/quaternary_heap.h"
#include "scheduling/queue_order.h"

namespace fsched::scheduling {

class AgingSrtfOrder final : public QueueOrder {
 public:
  AgingSrtfOrder(const QueueOrderOptions& options, std::string name);
  AgingSrtfOrder(double aging_rate, absl::Duration max_wait, std::string name)
      : AgingSrtfOrder(QueueOrderOptions{.aging_rate = aging_rate, .max_wait = max_wait},
                       std::move(name)) {}

  void Push(PendingInvocation pending) override;
  const PendingInvocation* Peek(absl::Time now) override;
  std::optional<PendingInvocation> Pop() override;
  void Unpop(PendingInvocation pending) override;
  void SetCapacity(uint32_t slots) override { capacity_ = slots; }
  bool Remove(const std::string& id) override;
  const PendingInvocation* Find(const std::string& id) const override;
  size_t size() const override { return slot_of_.size(); }
  std::string_view name() const override { return name_; }

 private:
  // Entries live in a slot array. A heap key names its slot and the push that
  // made it (a 36-bit push counter, which also breaks ties in arrival order),
  // packed with the value into 16 bytes; a key whose slot has since been
  // emptied or refilled is stale and dropped when it reaches the top.
  static constexpr int kSlotBits = 28;  // 268 M queued entries: more than memory holds
  struct Slot {
    PendingInvocation pending;
    uint64_t push = 0;
    double due = INFINITY;  // seconds after base_
    bool live = false;
  };
  struct Key {
    double value;
    uint64_t tag;  // push << kSlotBits | slot
    uint32_t slot() const { return static_cast<uint32_t>(tag & ((1u << kSlotBits) - 1)); }
    uint64_t push() const { return tag >> kSlotBits; }
  };
  struct KeyLess {
    bool operator()(const Key& a, const Key& b) const {
      return a.value != b.value ? a.value < b.value : a.tag < b.tag;
    }
  };
  using MinHeap = QuaternaryHeap<Key, KeyLess>;
  bool Current(const Key& key) const {
    const Slot& slot = slots_[key.slot()];
    return slot.live && slot.push == key.push();
  }
  void Clean(MinHeap& heap);
  PendingInvocation Release(uint32_t slot);
  // fresh: the entry brings a new estimate of its function's calls (a push,
  // not an entry put back).
  void Insert(PendingInvocation pending, double due, bool fresh);
  // Seconds an entry pushed now may wait before it is overdue.
  double Bound(double predicted) const;

  const double aging_rate_;
  const double max_wait_seconds_;  // INFINITY: no guard
  const double min_wait_seconds_;
  const double fifo_wait_factor_;
  const double slowdown_bound_;
  const std::string name_;
  absl::Time base_ = absl::InfinitePast();  // first enqueue time: keeps keys small
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  absl::flat_hash_map<std::string, uint32_t> slot_of_;  // live entries by id
  MinHeap by_priority_;
  MinHeap by_due_;  // empty without a guard
  uint64_t pushes_ = 0;
  std::optional<Key> peeked_;

  // For the FIFO-relative bound: the expected work queued, over the slots
  // that serve it, is the wait FIFO would give a newcomer (less the running
  // work's remainder, which the queue does not see). Each queued call counts
  // at its function's newest estimate, not the one it arrived with: SRTF
  // keeps exactly the calls whose estimate was high at arrival queued, and
  // summing those overstates the backlog several times on bursty traces.
  struct FunctionBacklog {
    uint32_t queued = 0;
    double work = 0;  // the newest estimate of one call, seconds
  };
  absl::flat_hash_map<std::string, FunctionBacklog> backlog_;
  double queued_work_ = 0;  // Σ queued · work over backlog_
  uint32_t capacity_ = 0;
  // The due times of the last pops, so an entry put back (Unpop) keeps its own.
  static constexpr size_t kRecentPops = 64;
  std::deque<std::pair<uint64_t, double>> recent_pops_;  // (id hash, due)
};

}  // namespace fsched::scheduling
