// Seed 001's target choice: probability proportional to 1 / mean response time
// over the last 60 s, and a worker with no response in the window is tried
// first (so every worker gets measured). The draw uses an injected seed, so
// tests and the simulator are reproducible.
#pragma once

#include "absl/random/random.h"
#include "scheduling/placement_policy.h"

namespace fsched::scheduling {

class ResponseTimePolicy final : public PlacementPolicy {
 public:
  explicit ResponseTimePolicy(uint64_t seed) : rng_(std::seed_seq{seed}) {}
  PlacementResult Place(const PlacementRequest& request,
                        absl::Span<const WorkerView> workers) override;
  std::string_view name() const override { return "response-time"; }

 private:
  absl::InsecureBitGen rng_;
};

}  // namespace fsched::scheduling
