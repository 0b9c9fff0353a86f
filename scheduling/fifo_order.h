// First come, first served.
#pragma once

#include <deque>

#include "absl/container/flat_hash_map.h"
#include "scheduling/queue_order.h"

namespace fsched::scheduling {

class FifoOrder final : public QueueOrder {
 public:
  void Push(PendingInvocation pending) override;
  const PendingInvocation* Peek(absl::Time now) override;
  std::optional<PendingInvocation> Pop() override;
  void Unpop(PendingInvocation pending) override;
  bool Remove(const std::string& id) override;
  const PendingInvocation* Find(const std::string& id) const override;
  size_t size() const override { return live_.size(); }
  std::string_view name() const override { return "fifo"; }

 private:
  void SkipRemoved();
  // Removal is lazy: an entry is live only while live_ maps its id to the
  // entry's own token, so an id removed and pushed again is not revived early.
  std::deque<std::pair<uint64_t, PendingInvocation>> queue_;
  absl::flat_hash_map<std::string, uint64_t> live_;
  // Tokens are consecutive from the front; Unpop takes the one before the
  // front's, so they start high enough never to run out below.
  uint64_t next_token_ = uint64_t{1} << 62;
};

}  // namespace fsched::scheduling
