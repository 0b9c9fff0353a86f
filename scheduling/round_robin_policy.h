// Cycles through workers in id order, skipping those without room.
#pragma once

#include <string>

#include "scheduling/placement_policy.h"

namespace fsched::scheduling {

class RoundRobinPolicy final : public PlacementPolicy {
 public:
  PlacementResult Place(const PlacementRequest& request,
                        absl::Span<const WorkerView> workers) override;
  std::string_view name() const override { return "round-robin"; }

 private:
  // The last worker chosen; the next choice is the first eligible id after it,
  // which stays fair when workers join and leave (an index would shift).
  std::string last_;
};

}  // namespace fsched::scheduling
