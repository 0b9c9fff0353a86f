#include "master/round_robin_policy.h"

#include <algorithm>
#include <vector>

namespace fsched::master {

PlacementResult RoundRobinPolicy::Place(const PlacementRequest& request,
                                        absl::Span<const WorkerView> workers) {
  std::vector<const WorkerView*> eligible;
  bool any_supports = false;
  for (const WorkerView& w : workers) {
    if (!SupportsRuntime(w, request.runtime)) continue;
    any_supports = true;
    if (w.free_slots > 0) eligible.push_back(&w);
  }
  PlacementResult result;
  if (eligible.empty()) {
    result.kind =
        any_supports ? PlacementResult::Kind::kRetryLater : PlacementResult::Kind::kInfeasible;
    result.reason = any_supports ? "every capable worker is busy"
                                 : "no ready worker supports this function's runtime";
    return result;
  }
  std::sort(eligible.begin(), eligible.end(),
            [](const WorkerView* a, const WorkerView* b) { return a->id < b->id; });
  auto next =
      std::upper_bound(eligible.begin(), eligible.end(), last_,
                       [](const std::string& id, const WorkerView* w) { return id < w->id; });
  const WorkerView* chosen = next == eligible.end() ? eligible.front() : *next;
  last_ = chosen->id;
  result.kind = PlacementResult::Kind::kPlaced;
  result.worker_id = chosen->id;
  return result;
}

}  // namespace fsched::master
