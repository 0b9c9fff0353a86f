// Where a pending invocation runs. A policy is an interface with one verb;
// each policy is its own file pair; MakePlacementPolicy picks one by name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fsched/v1/types.pb.h"

namespace fsched::scheduling {

/// A worker as placement sees it: a plain snapshot, no locks, no streams.
struct WorkerView {
  std::string id;
  std::string zone;
  uint32_t slots = 0;
  uint32_t free_slots = 0;
  double cpu_percent = 0;
  double memory_percent = 0;
  double load1 = 0;
  std::vector<v1::RuntimeKind> runtimes;
  std::vector<v1::WarmInstance> warm;  // warm and pre-warmed instances, per function
  double mean_response_seconds = 0;    // dispatch -> result over the last 60 s
  uint64_t response_samples = 0;       // 0 = never served in the window
  uint32_t cache_ways_free = 0;

  double used_fraction() const {
    return slots == 0 ? 1.0 : static_cast<double>(slots - free_slots) / slots;
  }
  /// Warm instances of `function` in `mode` (WARM or PREWARMED).
  uint32_t WarmCount(const std::string& function, v1::ExecutionMode mode) const;
};

/// Workers using this much memory or more get no new work.
inline constexpr double kMemoryFullPercent = 90.0;

struct PlacementRequest {
  std::string function;
  v1::RuntimeKind runtime = v1::RUNTIME_KIND_UNSPECIFIED;
  double predicted_seconds = 0;
  uint32_t cache_ways = 0;
  std::string worker_id;  // only this worker may take it; empty = any
};

struct PlacementResult {
  enum class Kind {
    kPlaced,      // worker_id is set
    kRetryLater,  // some worker could run it, none has room now
    kInfeasible,  // no worker in the cluster can run it at all
  };
  Kind kind = Kind::kRetryLater;
  std::string worker_id;
  std::string reason;
};

/// True if `worker` offers the runtime the request needs.
bool SupportsRuntime(const WorkerView& worker, v1::RuntimeKind runtime);

/// The workers a request may go to now: the runtime is supported, a slot is
/// free and memory is under kMemoryFullPercent. When there is none, `*none`
/// says whether to retry later or that the request is infeasible, and why.
std::vector<const WorkerView*> EligibleWorkers(const PlacementRequest& request,
                                               absl::Span<const WorkerView> workers,
                                               PlacementResult* none);

/// \return kPlaced on `worker`.
PlacementResult PlacedOn(const WorkerView& worker);

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  /// Chooses a worker among `workers`.
  /// \param request what is being placed.
  /// \param workers snapshot of candidate workers (the scheduler passes the ready
  ///        workers that have a free slot).
  /// \return kPlaced with a worker that has a free slot and supports the runtime,
  ///         kRetryLater when such workers exist but are full or at the memory limit,
  ///         kInfeasible when none of them supports the runtime.
  virtual PlacementResult Place(const PlacementRequest& request,
                                absl::Span<const WorkerView> workers) = 0;
  virtual std::string_view name() const = 0;
};

}  // namespace fsched::scheduling
