#include "scheduling/cache_fit_policy.h"

#include <algorithm>

namespace fsched::scheduling {

PlacementResult CacheFitPolicy::Place(const PlacementRequest& request,
                                      absl::Span<const WorkerView> workers) {
  PlacementResult none;
  const auto eligible = EligibleWorkers(request, workers, &none);
  if (eligible.empty()) return none;
  const WorkerView* best_fit = nullptr;
  const WorkerView* largest = nullptr;
  for (const WorkerView* w : eligible) {
    if (w->cache_ways_free >= request.cache_ways &&
        (best_fit == nullptr || w->cache_ways_free < best_fit->cache_ways_free ||
         (w->cache_ways_free == best_fit->cache_ways_free && w->id < best_fit->id))) {
      best_fit = w;
    }
    if (largest == nullptr || w->cache_ways_free > largest->cache_ways_free ||
        (w->cache_ways_free == largest->cache_ways_free && w->id < largest->id)) {
      largest = w;
    }
  }
  return PlacedOn(best_fit != nullptr ? *best_fit : *largest);
}

}  // namespace fsched::scheduling
