// The order in which pending invocations leave the central queue. One
// implementation per file; policy_factory.h picks one by its config name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"

namespace fsched::scheduling {

/// What an order may look at when ranking a pending invocation.
struct PendingInvocation {
  std::string id;
  std::string function;
  // When the invocation arrived. Kept when it is queued again (its worker
  // died, its dispatch failed, it was preempted): the aging credit it earned.
  absl::Time enqueued;
  absl::Time queue_deadline;     // when the queue stops waiting for a worker for it (this stay)
  double predicted_seconds = 0;  // run-time prediction (0 = unknown)
  uint64_t sequence = 0;         // arrival order, for stable ties
  v1::RuntimeKind runtime = v1::RUNTIME_KIND_UNSPECIFIED;
  double input_size = 0;
  uint32_t cache_ways = 0;  // LLC ways it should get (0 = no partition)
  std::string worker_id;    // pinned to this worker; empty = any
};

class QueueOrder {
 public:
  virtual ~QueueOrder() = default;
  /// Adds an invocation. Ids are unique among queued entries.
  virtual void Push(PendingInvocation pending) = 0;
  /// \return the next invocation to place, without removing it.
  virtual const PendingInvocation* Peek(absl::Time now) = 0;
  /// Removes the entry Peek returned and hands it over (nullopt if the order is empty).
  virtual std::optional<PendingInvocation> Pop() = 0;
  /// Puts back an entry Pop handed over, where it was: entries popped one
  /// after another and put back in the reverse order regain their places.
  /// Orders that rank by the entry's fields simply push it again.
  virtual void Unpop(PendingInvocation pending) { Push(std::move(pending)); }
  /// Removes an entry by id; false if it is not queued.
  virtual bool Remove(const std::string& id) = 0;
  /// \return the queued entry with this id, or nullptr.
  virtual const PendingInvocation* Find(const std::string& id) const = 0;
  virtual size_t size() const = 0;
  virtual std::string_view name() const = 0;
};

/// Parameters of the orders that use them (DESIGN.md, "Aging-SRTF queue").
struct QueueOrderOptions {
  double aging_rate = 0.1;                      // seconds of priority gained per second waited
  absl::Duration max_wait = absl::Seconds(30);  // waited longer: goes first regardless
};

}  // namespace fsched::scheduling
