// Seed 002's WarmedFirst chain: workers holding a warm instance of the function
// first, then those with a pre-warmed one, then any; within the first tier that
// has an eligible worker, the base policy decides.
#pragma once

#include <memory>
#include <string>

#include "scheduling/placement_policy.h"

namespace fsched::scheduling {

class WarmFirstPolicy final : public PlacementPolicy {
 public:
  explicit WarmFirstPolicy(std::unique_ptr<PlacementPolicy> base);
  PlacementResult Place(const PlacementRequest& request,
                        absl::Span<const WorkerView> workers) override;
  std::string_view name() const override { return name_; }

 private:
  std::unique_ptr<PlacementPolicy> base_;
  std::string name_;
};

}  // namespace fsched::scheduling
