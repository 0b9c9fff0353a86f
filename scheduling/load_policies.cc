#include "scheduling/load_policies.h"

#include <algorithm>
#include <tuple>

namespace fsched::scheduling {
namespace {

auto LoadKey(const WorkerView* w) {
  return std::make_tuple(w->used_fraction(), w->cpu_percent, std::string_view(w->id));
}

}  // namespace

PlacementResult LeastLoadedPolicy::Place(const PlacementRequest& request,
                                         absl::Span<const WorkerView> workers) {
  PlacementResult none;
  const auto eligible = EligibleWorkers(request, workers, &none);
  if (eligible.empty()) return none;
  return PlacedOn(**std::min_element(eligible.begin(), eligible.end(),
                                     [](auto* a, auto* b) { return LoadKey(a) < LoadKey(b); }));
}

PlacementResult MostLoadedPolicy::Place(const PlacementRequest& request,
                                        absl::Span<const WorkerView> workers) {
  PlacementResult none;
  const auto eligible = EligibleWorkers(request, workers, &none);
  if (eligible.empty()) return none;
  // Busiest first; among equals the lower id, so ties do not depend on input order.
  return PlacedOn(**std::min_element(eligible.begin(), eligible.end(), [](auto* a, auto* b) {
    if (a->used_fraction() != b->used_fraction()) return a->used_fraction() > b->used_fraction();
    if (a->cpu_percent != b->cpu_percent) return a->cpu_percent > b->cpu_percent;
    return a->id < b->id;
  }));
}

}  // namespace fsched::scheduling
