#include "scheduling/dispatch.h"

#include <vector>

#include "common/log.h"

namespace fsched::scheduling {

DispatchDecision NextDispatch(QueueOrder& order, PlacementPolicy& placement,
                              absl::Span<const WorkerView> workers, absl::Time now,
                              absl::FunctionRef<bool(v1::RuntimeKind)> any_capable) {
  DispatchDecision decision;
  if (workers.empty()) return decision;
  // Entries that cannot go anywhere now (pinned to a busy worker, waiting for
  // cache ways, for a worker of their runtime to free up) are set aside, so
  // placeable work behind them is not stalled; they go back where they were.
  std::vector<PendingInvocation> waiting;
  while (decision.kind == DispatchDecision::Kind::kIdle && waiting.size() < kDispatchLookahead) {
    const PendingInvocation* next = order.Peek(now);
    if (next == nullptr) break;
    PlacementRequest request;
    request.function = next->function;
    request.runtime = next->runtime;
    request.predicted_seconds = next->predicted_seconds;
    request.cache_ways = next->cache_ways;
    request.worker_id = next->worker_id;
    PlacementResult placed = placement.Place(request, workers);
    switch (placed.kind) {
      case PlacementResult::Kind::kRetryLater:
        break;
      case PlacementResult::Kind::kInfeasible:
        if (any_capable(next->runtime)) break;
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
          break;
        }
        decision.kind = DispatchDecision::Kind::kPlace;
        decision.worker = index;
        break;
      }
    }
    std::optional<PendingInvocation> popped = order.Pop();
    if (decision.kind == DispatchDecision::Kind::kIdle) {
      waiting.push_back(std::move(*popped));
    } else {
      decision.pending = std::move(*popped);
    }
  }
  for (auto it = waiting.rbegin(); it != waiting.rend(); ++it) order.Unpop(std::move(*it));
  return decision;
}

}  // namespace fsched::scheduling
