// Fsched's worker choice (seed 003): the eligible worker with the least free
// last-level cache that still fits the predicted ways (best fit, leaving big
// partitions for big consumers); if none fits, the one with the most free ways.
#pragma once

#include "scheduling/placement_policy.h"

namespace fsched::scheduling {

class CacheFitPolicy final : public PlacementPolicy {
 public:
  PlacementResult Place(const PlacementRequest& request,
                        absl::Span<const WorkerView> workers) override;
  std::string_view name() const override { return "cache-fit"; }
};

}  // namespace fsched::scheduling
