// Shortest predicted run time first, with linear aging and a starvation guard.
//
// effective = predicted − aging_rate · waited = (predicted + aging_rate · enqueued)
// − aging_rate · now. The last term is the same for every entry, so the order is
// time-invariant and a heap keyed on predicted + aging_rate · enqueued gives
// O(log n) push and pop with no periodic re-sort. An entry that has waited
// longer than max_wait goes first (oldest first), found through a second heap on
// enqueue time. With aging_rate 0 and an infinite max_wait this is plain SRTF.
#pragma once

#include <queue>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "master/queue_order.h"

namespace fsched::master {

class AgingSrtfOrder final : public QueueOrder {
 public:
  AgingSrtfOrder(double aging_rate, absl::Duration max_wait, std::string name)
      : aging_rate_(aging_rate), max_wait_(max_wait), name_(std::move(name)) {}

  void Push(PendingInvocation pending) override;
  const PendingInvocation* Peek(absl::Time now) override;
  void Pop() override;
  bool Remove(const std::string& id) override;
  size_t size() const override { return entries_.size(); }
  std::string_view name() const override { return name_; }

 private:
  struct Key {
    double value;
    uint64_t sequence;  // earlier arrival wins ties
    uint64_t token;
    bool operator>(const Key& o) const {
      return value != o.value ? value > o.value : sequence > o.sequence;
    }
  };
  using MinHeap = std::priority_queue<Key, std::vector<Key>, std::greater<Key>>;
  void Clean(MinHeap& heap);

  const double aging_rate_;
  const absl::Duration max_wait_;
  const std::string name_;
  absl::Time base_ = absl::InfinitePast();  // first enqueue time: keeps keys small
  uint64_t next_token_ = 0;
  absl::flat_hash_map<uint64_t, PendingInvocation> entries_;  // live entries by token
  absl::flat_hash_map<std::string, uint64_t> token_of_;
  MinHeap by_priority_;
  MinHeap by_age_;
  uint64_t peeked_ = 0;
  bool has_peeked_ = false;
};

}  // namespace fsched::master
