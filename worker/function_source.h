// Function specs for requests a worker runs without a master's assignment
// (decentralized routing, or a direct call): asked of the worker's masters
// (Controller.GetFunction, asynchronously) and kept, so a burst of calls costs
// one lookup. A spec younger than `fresh_for` is used as it is; one younger
// than twice that is used too while a single lookup refreshes it behind the
// calls, so a worker under steady load never makes a call wait for one; an
// older or unknown spec is waited for, every caller on the same lookup. When
// no master answers, a spec seen before is used; otherwise the call fails
// UNAVAILABLE naming the masters tried.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "fsched/v1/controller.grpc.pb.h"

namespace fsched::worker {

class FunctionSource {
 public:
  using Done = std::function<void(absl::StatusOr<v1::FunctionSpec>)>;
  using MastersFn = std::function<std::vector<std::string>()>;  // addresses, in order

  explicit FunctionSource(MastersFn masters, absl::Duration fresh_for = absl::Seconds(5),
                          const Clock* clock = RealClock::Get())
      : masters_(std::move(masters)), fresh_for_(fresh_for), clock_(clock) {}
  /// Waits for lookups in flight (each attempt has a 2 s deadline).
  ~FunctionSource();

  /// Calls `done` exactly once: the spec, NOT_FOUND when a master says the
  /// function does not exist, UNAVAILABLE when none answered and none is known.
  void Get(const std::string& name, Done done);

 private:
  struct Lookup;
  void Ask(std::shared_ptr<Lookup> lookup);
  void Answered(std::shared_ptr<Lookup> lookup, const std::string& address,
                const grpc::Status& status);
  /// Ends `lookup`: forgets it as in flight and gives `result` to every caller waiting on it.
  void Finish(const std::shared_ptr<Lookup>& lookup, const absl::StatusOr<v1::FunctionSpec>& result)
      ABSL_LOCKS_EXCLUDED(mu_);
  v1::Controller::Stub* StubFor(const std::string& address);

  const MastersFn masters_;
  const absl::Duration fresh_for_;
  const Clock* const clock_;
  absl::Mutex mu_;
  struct Known {
    v1::FunctionSpec spec;
    absl::Time fetched;
  };
  std::map<std::string, Known> known_ ABSL_GUARDED_BY(mu_);
  // At most one lookup per function; callers that need its answer wait on it.
  std::map<std::string, std::shared_ptr<Lookup>> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<v1::Controller::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
  int asking_ ABSL_GUARDED_BY(mu_) = 0;  // RPCs in flight
};

}  // namespace fsched::worker
