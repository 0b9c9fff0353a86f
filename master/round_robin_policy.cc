#include "master/round_robin_policy.h"

#include <algorithm>
#include <vector>

namespace fsched::master {

PlacementResult RoundRobinPolicy::Place(const PlacementRequest& request,
                                        absl::Span<const WorkerView> workers) {
  PlacementResult none;
  std::vector<const WorkerView*> eligible = EligibleWorkers(request, workers, &none);
  if (eligible.empty()) return none;
  std::sort(eligible.begin(), eligible.end(),
            [](const WorkerView* a, const WorkerView* b) { return a->id < b->id; });
  auto next =
      std::upper_bound(eligible.begin(), eligible.end(), last_,
                       [](const std::string& id, const WorkerView* w) { return id < w->id; });
  const WorkerView* chosen = next == eligible.end() ? eligible.front() : *next;
  last_ = chosen->id;
  return PlacedOn(*chosen);
}

}  // namespace fsched::master
