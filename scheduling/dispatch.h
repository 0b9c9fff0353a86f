// One late-binding decision, shared by the live scheduler and fsched-sim so
// both run the same logic: the queue order names the next invocation, the
// placement policy names a worker among those with room, and the entry leaves
// the queue only when it has somewhere to go (or nowhere ever).
#pragma once

#include <cstddef>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "scheduling/placement_policy.h"
#include "scheduling/queue_order.h"

namespace fsched::scheduling {

struct DispatchDecision {
  enum class Kind {
    kIdle,   // nothing to do now: the queue is empty or no entry looked at can be placed
    kPlace,  // `pending` left the queue and goes to workers[worker]
    kPark,   // `pending` left the queue: no worker in the cluster can ever run it
  };
  Kind kind = Kind::kIdle;
  PendingInvocation pending;
  size_t worker = 0;
  std::string reason;  // why it was parked
};

/// Queue entries looked at per decision: past the first that cannot be placed
/// now, up to this many, so a blocked head does not stall the queue and a
/// long blocked prefix does not make every decision walk the whole queue.
inline constexpr size_t kDispatchLookahead = 32;

/// Takes the next decision for `order` over `workers` (the workers with a free
/// slot): the first entry, in the order's order, that can be placed now or
/// never can (parked); entries ahead of it that must wait keep their places.
/// \param any_capable whether any ready worker, full or not, supports a runtime:
///        "infeasible among the workers with room" may only mean the capable ones are busy.
/// \return kIdle (and leaves the queue as it was) when every entry looked at must wait.
DispatchDecision NextDispatch(QueueOrder& order, PlacementPolicy& placement,
                              absl::Span<const WorkerView> workers, absl::Time now,
                              absl::FunctionRef<bool(v1::RuntimeKind)> any_capable);

}  // namespace fsched::scheduling
