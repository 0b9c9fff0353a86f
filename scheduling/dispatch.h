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
    kIdle,   // nothing to do now: the queue is empty or no worker can take the head
    kPlace,  // `pending` left the queue and goes to workers[worker]
    kPark,   // `pending` left the queue: no worker in the cluster can ever run it
  };
  Kind kind = Kind::kIdle;
  PendingInvocation pending;
  size_t worker = 0;
  std::string reason;  // why it was parked
};

/// Takes the next decision for `order` over `workers` (the workers with a free slot).
/// \param any_capable whether any ready worker, full or not, supports a runtime:
///        "infeasible among the workers with room" may only mean the capable ones are busy.
/// \return kIdle (and leaves the queue as it was) when the head must wait.
DispatchDecision NextDispatch(QueueOrder& order, PlacementPolicy& placement,
                              absl::Span<const WorkerView> workers, absl::Time now,
                              absl::FunctionRef<bool(v1::RuntimeKind)> any_capable);

}  // namespace fsched::scheduling
