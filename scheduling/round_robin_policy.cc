#include "scheduling/round_robin_policy.h"

#include <vector>

namespace fsched::scheduling {

PlacementResult RoundRobinPolicy::Place(const PlacementRequest& request,
                                        absl::Span<const WorkerView> workers) {
  PlacementResult none;
  const std::vector<const WorkerView*> eligible = EligibleWorkers(request, workers, &none);
  if (eligible.empty()) return none;
  // The eligible worker whose id follows the last choice, wrapping to the
  // smallest id: one pass, so the rotation does not depend on input order.
  const WorkerView* next = nullptr;
  const WorkerView* first = nullptr;
  for (const WorkerView* w : eligible) {
    if (first == nullptr || w->id < first->id) first = w;
    if (w->id > last_ && (next == nullptr || w->id < next->id)) next = w;
  }
  const WorkerView* chosen = next != nullptr ? next : first;
  last_ = chosen->id;
  return PlacedOn(*chosen);
}

}  // namespace fsched::scheduling
