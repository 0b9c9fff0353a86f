#include "scheduling/response_time_policy.h"

#include <algorithm>
#include <vector>

#include "absl/random/distributions.h"

namespace fsched::scheduling {
namespace {
// Guards 1/x against a zero mean (sub-microsecond responses).
constexpr double kMinResponseSeconds = 1e-6;
}  // namespace

PlacementResult ResponseTimePolicy::Place(const PlacementRequest& request,
                                          absl::Span<const WorkerView> workers) {
  PlacementResult none;
  auto eligible = EligibleWorkers(request, workers, &none);
  if (eligible.empty()) return none;
  // Unseen workers first, lowest id first among them.
  const WorkerView* unseen = nullptr;
  for (const WorkerView* w : eligible) {
    if (w->response_samples == 0 && (unseen == nullptr || w->id < unseen->id)) unseen = w;
  }
  if (unseen != nullptr) return PlacedOn(*unseen);
  std::sort(eligible.begin(), eligible.end(),
            [](const WorkerView* a, const WorkerView* b) { return a->id < b->id; });
  double total = 0;
  for (const WorkerView* w : eligible) {
    total += 1.0 / std::max(w->mean_response_seconds, kMinResponseSeconds);
  }
  double draw = absl::Uniform(rng_, 0.0, total);
  for (const WorkerView* w : eligible) {
    draw -= 1.0 / std::max(w->mean_response_seconds, kMinResponseSeconds);
    if (draw < 0) return PlacedOn(*w);
  }
  return PlacedOn(*eligible.back());  // rounding left a sliver past the last weight
}

}  // namespace fsched::scheduling
