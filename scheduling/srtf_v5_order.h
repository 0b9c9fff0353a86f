// The seed's "v5" priority, kept for comparison (seed 000):
//   priority = 0.8 / remaining + β · waited,  β = clamp(mean wait of the queue, 0.1, 1.0)
// highest first. β depends on the whole queue at decision time, so the order is
// not time-invariant: each Peek scans every entry (O(n)). Use aging-srtf for real loads.
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "scheduling/queue_order.h"

namespace fsched::scheduling {

class SrtfV5Order final : public QueueOrder {
 public:
  void Push(PendingInvocation pending) override;
  const PendingInvocation* Peek(absl::Time now) override;
  std::optional<PendingInvocation> Pop() override;
  bool Remove(const std::string& id) override;
  const PendingInvocation* Find(const std::string& id) const override;
  size_t size() const override { return entries_.size(); }
  std::string_view name() const override { return "srtf-v5"; }

 private:
  void EraseAt(size_t index);
  std::vector<PendingInvocation> entries_;
  absl::flat_hash_map<std::string, size_t> index_of_;
  size_t peeked_ = SIZE_MAX;
  absl::Time last_now_ = absl::UnixEpoch();  // time of the last Peek
};

}  // namespace fsched::scheduling
