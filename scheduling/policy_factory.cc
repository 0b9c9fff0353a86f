#include "scheduling/policy_factory.h"

#include "absl/strings/str_cat.h"
#include "scheduling/aging_srtf_order.h"
#include "scheduling/cache_fit_policy.h"
#include "scheduling/fifo_order.h"
#include "scheduling/load_policies.h"
#include "scheduling/response_time_policy.h"
#include "scheduling/round_robin_policy.h"
#include "scheduling/srtf_v5_order.h"
#include "scheduling/warm_first_policy.h"

namespace fsched::scheduling {

absl::StatusOr<std::unique_ptr<QueueOrder>> MakeQueueOrder(std::string_view name,
                                                           const QueueOrderOptions& options) {
  if (name == "fifo") return std::make_unique<FifoOrder>();
  if (name == "srtf") {
    return std::make_unique<AgingSrtfOrder>(0.0, absl::InfiniteDuration(), "srtf");
  }
  if (name == "aging-srtf") {
    return std::make_unique<AgingSrtfOrder>(options, "aging-srtf");
  }
  if (name == "srtf-v5") return std::make_unique<SrtfV5Order>();
  return absl::InvalidArgumentError(absl::StrCat("unknown queue order '", std::string(name),
                                                 "' (known: fifo, srtf, aging-srtf, srtf-v5)"));
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

}  // namespace fsched::scheduling
