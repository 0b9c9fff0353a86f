#include "master/placement_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "master/round_robin_policy.h"

namespace fsched::master {

bool SupportsRuntime(const WorkerView& worker, v1::RuntimeKind runtime) {
  // UNSPECIFIED means "the worker's default", which every worker has.
  if (runtime == v1::RUNTIME_KIND_UNSPECIFIED) return true;
  return std::find(worker.runtimes.begin(), worker.runtimes.end(), runtime) !=
         worker.runtimes.end();
}

absl::StatusOr<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name) {
  if (name == "round-robin") return std::make_unique<RoundRobinPolicy>();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown placement policy '", std::string(name), "' (known: round-robin)"));
}

}  // namespace fsched::master
