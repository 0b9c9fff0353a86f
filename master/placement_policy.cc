#include "master/placement_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "master/cache_fit_policy.h"
#include "master/load_policies.h"
#include "master/response_time_policy.h"
#include "master/round_robin_policy.h"
#include "master/warm_first_policy.h"

namespace fsched::master {

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

absl::StatusOr<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name,
                                                                     uint64_t seed) {
  if (name == "round-robin") return std::make_unique<RoundRobinPolicy>();
  if (name == "least-loaded") return std::make_unique<LeastLoadedPolicy>();
  if (name == "most-loaded") return std::make_unique<MostLoadedPolicy>();
  if (name == "response-time") return std::make_unique<ResponseTimePolicy>(seed);
  if (name == "cache-fit") return std::make_unique<CacheFitPolicy>();
  if (name == "warm-first" || name.starts_with("warm-first/")) {
    const std::string_view base_name =
        name == "warm-first" ? std::string_view("least-loaded") : name.substr(11);
    if (base_name.starts_with("warm-first")) {
      return absl::InvalidArgumentError("warm-first cannot be its own base policy");
    }
    auto base = MakePlacementPolicy(base_name, seed);
    if (!base.ok()) return base.status();
    return std::make_unique<WarmFirstPolicy>(std::move(*base));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown placement policy '", std::string(name),
                   "' (known: round-robin, least-loaded, most-loaded, response-time, cache-fit, "
                   "warm-first, warm-first/<base>)"));
}

}  // namespace fsched::master
