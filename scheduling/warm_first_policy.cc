#include "scheduling/warm_first_policy.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace fsched::scheduling {

WarmFirstPolicy::WarmFirstPolicy(std::unique_ptr<PlacementPolicy> base)
    : base_(std::move(base)), name_(absl::StrCat("warm-first/", std::string(base_->name()))) {}

PlacementResult WarmFirstPolicy::Place(const PlacementRequest& request,
                                       absl::Span<const WorkerView> workers) {
  PlacementResult none;
  const auto eligible = EligibleWorkers(request, workers, &none);
  if (eligible.empty()) return none;
  for (v1::ExecutionMode tier : {v1::EXECUTION_MODE_WARM, v1::EXECUTION_MODE_PREWARMED}) {
    std::vector<WorkerView> holders;
    for (const WorkerView* w : eligible) {
      if (w->WarmCount(request.function, tier) > 0) holders.push_back(*w);
    }
    if (!holders.empty()) return base_->Place(request, holders);
  }
  return base_->Place(request, workers);
}

}  // namespace fsched::scheduling
