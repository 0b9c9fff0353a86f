// Placement by how busy workers are (seed 002's LeastUsed / MostUsed).
// "Busy" is the share of slots in use, which the master knows exactly at every
// decision; CPU % from the last heartbeat (up to an interval old) breaks ties,
// then the worker id, so the choice is deterministic.
#pragma once

#include "scheduling/placement_policy.h"

namespace fsched::scheduling {

/// Spreads work: the least busy eligible worker.
class LeastLoadedPolicy final : public PlacementPolicy {
 public:
  PlacementResult Place(const PlacementRequest& request,
                        absl::Span<const WorkerView> workers) override;
  std::string_view name() const override { return "least-loaded"; }
};

/// Packs work (bin packing): the busiest worker that still has a free slot.
class MostLoadedPolicy final : public PlacementPolicy {
 public:
  PlacementResult Place(const PlacementRequest& request,
                        absl::Span<const WorkerView> workers) override;
  std::string_view name() const override { return "most-loaded"; }
};

}  // namespace fsched::scheduling
