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

namespace fsched::master {

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
};

struct PlacementRequest {
  std::string function;
  v1::RuntimeKind runtime = v1::RUNTIME_KIND_UNSPECIFIED;
  double predicted_seconds = 0;
  uint32_t cache_ways = 0;
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

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  /// Chooses a worker among `workers` (every ready worker, with or without room).
  /// \param request what is being placed.
  /// \param workers snapshot of the ready workers.
  /// \return kPlaced with a worker that has a free slot and supports the runtime,
  ///         kRetryLater when such workers exist but are full, kInfeasible when none
  ///         supports the runtime.
  virtual PlacementResult Place(const PlacementRequest& request,
                                absl::Span<const WorkerView> workers) = 0;
  virtual std::string_view name() const = 0;
};

/// \return INVALID_ARGUMENT listing the known names for an unknown one.
absl::StatusOr<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name);

}  // namespace fsched::master
