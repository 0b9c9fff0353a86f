// A zone master's tie to its master: it announces itself every
// heartbeat interval (the answer is the live masters of the federation) and
// mirrors the master's functions into its own registry, so a function is
// registered once, at the master, and runs in every zone. While the parent is
// unreachable the zone keeps serving with what it last heard. The master's
// live tokens (their hashes) are mirrored every interval, so a zone master
// checks the same callers and a revocation reaches it within one interval.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/token_directory.h"
#include "fsched/v1/auth.grpc.pb.h"
#include "fsched/v1/cluster.grpc.pb.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "master/controller.h"

namespace fsched::master {

class ParentLink {
 public:
  struct Options {
    std::string parent;  // host:port of the master
    v1::AnnounceZoneRequest self;
    absl::Duration interval = absl::Seconds(1);
    absl::Duration mirror_interval = absl::Seconds(2);
    TokenDirectory* tokens = nullptr;  // replaced by the parent's; null = not mirrored
  };
  ParentLink(Options options, Controller* controller);
  ~ParentLink() { Stop(); }

  void Start();
  void Stop();
  /// The federation's masters as the parent last told (empty before it answered).
  v1::ZoneDirectory directory();
  /// Bumps when the directory changes.
  uint64_t version();

 private:
  void Loop();
  void Announce();
  void Mirror();
  void MirrorTokens();

  const Options options_;
  Controller* const controller_;
  std::unique_ptr<v1::Cluster::Stub> cluster_;
  std::unique_ptr<v1::Controller::Stub> functions_;
  std::unique_ptr<v1::Tokens::Stub> tokens_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  v1::ZoneDirectory directory_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool parent_reachable_ = true;  // loop thread only: logs each change once
  std::thread thread_;
};

}  // namespace fsched::master
