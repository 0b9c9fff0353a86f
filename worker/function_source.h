// Function specs for requests a worker runs without a master's assignment
// (decentralized routing, or a direct call): asked of the worker's masters
// (Controller.GetFunction, asynchronously) and kept for a few seconds, so a
// burst of calls costs one lookup. When no master answers, a spec seen before
// is used; otherwise the call fails UNAVAILABLE naming the masters tried.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/controller.grpc.pb.h"

namespace fsched::worker {

class FunctionSource {
 public:
  using Done = std::function<void(absl::StatusOr<v1::FunctionSpec>)>;
  using MastersFn = std::function<std::vector<std::string>()>;  // addresses, in order

  explicit FunctionSource(MastersFn masters, absl::Duration fresh_for = absl::Seconds(5))
      : masters_(std::move(masters)), fresh_for_(fresh_for) {}
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
  v1::Controller::Stub* StubFor(const std::string& address);

  const MastersFn masters_;
  const absl::Duration fresh_for_;
  absl::Mutex mu_;
  struct Known {
    v1::FunctionSpec spec;
    absl::Time fetched;
  };
  std::map<std::string, Known> known_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<v1::Controller::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
  int asking_ ABSL_GUARDED_BY(mu_) = 0;  // RPCs in flight
};

}  // namespace fsched::worker
