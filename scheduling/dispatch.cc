#include "scheduling/dispatch.h"

#include "common/log.h"

namespace fsched::scheduling {

DispatchDecision NextDispatch(QueueOrder& order, PlacementPolicy& placement,
                              absl::Span<const WorkerView> workers, absl::Time now,
                              absl::FunctionRef<bool(v1::RuntimeKind)> any_capable) {
  DispatchDecision decision;
  if (workers.empty()) return decision;
  const PendingInvocation* next = order.Peek(now);
  if (next == nullptr) return decision;
  PlacementRequest request;
  request.function = next->function;
  request.runtime = next->runtime;
  request.predicted_seconds = next->predicted_seconds;
  request.cache_ways = next->cache_ways;
  request.worker_id = next->worker_id;
  PlacementResult placed = placement.Place(request, workers);
  switch (placed.kind) {
    case PlacementResult::Kind::kRetryLater:
      return decision;
    case PlacementResult::Kind::kInfeasible:
      if (any_capable(next->runtime)) return decision;
      decision.kind = DispatchDecision::Kind::kPark;
      decision.reason = std::move(placed.reason);
      break;
    case PlacementResult::Kind::kPlaced: {
      size_t index = 0;
      while (index < workers.size() && workers[index].id != placed.worker_id) ++index;
      if (index == workers.size() || workers[index].free_slots == 0) {
        // A policy that answers outside its candidates is a bug; keep the job queued.
        FSCHED_LOG(kError, "placement policy %s chose unusable worker '%s'", placement.name(),
                   placed.worker_id);
        return decision;
      }
      decision.kind = DispatchDecision::Kind::kPlace;
      decision.worker = index;
      break;
    }
  }
  decision.pending = *order.Pop();
  return decision;
}

}  // namespace fsched::scheduling
