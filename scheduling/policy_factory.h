// Queue orders and placement policies by their config names
// (scheduler.queue_order, scheduler.placement). The only file that knows every
// implementation: the interfaces (queue_order.h, placement_policy.h) know none.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "scheduling/placement_policy.h"
#include "scheduling/queue_order.h"

namespace fsched::scheduling {

/// Names: fifo, srtf, aging-srtf, srtf-v5.
/// \return INVALID_ARGUMENT listing the known names for an unknown one.
absl::StatusOr<std::unique_ptr<QueueOrder>> MakeQueueOrder(std::string_view name,
                                                           const QueueOrderOptions& options = {});

/// Names: round-robin, least-loaded, most-loaded, response-time, cache-fit, and
/// warm-first or warm-first/<base> (warm, then pre-warmed, then any worker,
/// each tier decided by the base policy; least-loaded by default).
/// `seed` feeds the policies that draw at random.
/// \return INVALID_ARGUMENT listing the known names for an unknown one.
absl::StatusOr<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name,
                                                                     uint64_t seed = 1);

}  // namespace fsched::scheduling
