#include "scheduling/placement_policy.h"

#include <algorithm>

namespace fsched::scheduling {

uint32_t WorkerView::WarmCount(const std::string& function, v1::ExecutionMode mode) const {
  for (const v1::WarmInstance& w : warm) {
    if (w.function() == function && w.mode() == mode) return w.count();
  }
  return 0;
}

bool SupportsRuntime(const WorkerView& worker, v1::RuntimeKind runtime) {
  // UNSPECIFIED means "the worker's default", which every worker has.
  if (runtime == v1::RUNTIME_KIND_UNSPECIFIED) return true;
  return std::find(worker.runtimes.begin(), worker.runtimes.end(), runtime) !=
         worker.runtimes.end();
}

std::vector<const WorkerView*> EligibleWorkers(const PlacementRequest& request,
                                               absl::Span<const WorkerView> workers,
                                               PlacementResult* none) {
  std::vector<const WorkerView*> eligible;
  bool any_supports = false, any_memory_full = false;
  for (const WorkerView& w : workers) {
    if (!request.worker_id.empty() && w.id != request.worker_id) continue;
    if (!SupportsRuntime(w, request.runtime)) continue;
    any_supports = true;
    if (w.memory_percent >= kMemoryFullPercent) {
      any_memory_full = true;
      continue;
    }
    if (w.free_slots > 0) eligible.push_back(&w);
  }
  if (eligible.empty()) {
    none->kind =
        any_supports ? PlacementResult::Kind::kRetryLater : PlacementResult::Kind::kInfeasible;
    none->reason = !any_supports     ? "no ready worker supports this function's runtime"
                   : any_memory_full ? "every capable worker is busy or at 90 % memory or more"
                                     : "every capable worker is busy";
  }
  return eligible;
}

PlacementResult PlacedOn(const WorkerView& worker) {
  PlacementResult result;
  result.kind = PlacementResult::Kind::kPlaced;
  result.worker_id = worker.id;
  return result;
}

}  // namespace fsched::scheduling
