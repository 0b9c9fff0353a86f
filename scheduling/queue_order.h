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
  // A typical call of its function (the predictor's median): what the
  // starvation guard counts as backlog. 0: use predicted_seconds.
  double typical_seconds = 0;
  uint64_t sequence = 0;  // arrival order, for stable ties
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
  /// The slots of the cluster's ready workers, busy or not (the master's
  /// scheduler and the simulator keep it current). Orders that do not weigh the
  /// backlog ignore it.
  virtual void SetCapacity(uint32_t /*slots*/) {}
  /// Removes an entry by id; false if it is not queued.
  virtual bool Remove(const std::string& id) = 0;
  /// \return the queued entry with this id, or nullptr.
  virtual const PendingInvocation* Find(const std::string& id) const = 0;
  virtual size_t size() const = 0;
  virtual std::string_view name() const = 0;
};

/// Parameters of the orders that use them (DESIGN.md, "Aging-SRTF queue").
///
/// aging-srtf's starvation guard gives each entry a due time when it is pushed:
/// arrival + bound, where bound = max_wait when the factors below are 0, and
/// otherwise min(max_wait, max(min_wait, fifo_wait_factor · E, slowdown_bound ·
/// predicted)), E being the wait FIFO would give it (the typical work queued
/// ahead of it over the cluster's slots, see AgingSrtfOrder). Entries past
/// their due time go first, earliest due first.
struct QueueOrderOptions {
  // The struct's defaults are the plain fixed bound the unit tests start
  // from; the configuration's (master.proto) are the FIFO-relative guard.
  double aging_rate = 0.1;                      // seconds of priority gained per second waited
  absl::Duration max_wait = absl::Seconds(30);  // waited longer: goes first regardless
  double fifo_wait_factor = 0;                  // 0: no FIFO-relative bound
  double slowdown_bound = 0;                    // 0: no bound relative to the prediction
  absl::Duration min_wait = absl::ZeroDuration();
};

}  // namespace fsched::scheduling
