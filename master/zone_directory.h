// The live masters of a federation, as a master knows them: zone
// masters announce themselves every heartbeat interval and expire when they
// stop (killed, partitioned). The master lists itself first.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "fsched/v1/cluster.pb.h"

namespace fsched::master {

class ZoneDirectory {
 public:
  ZoneDirectory(absl::Duration expiry, Clock* clock) : expiry_(expiry), clock_(clock) {}

  /// This master's own entry (its address is known once its port is bound).
  void SetSelf(v1::Peer self);

  /// INVALID_ARGUMENT without an id, zone or host:port address, or when the
  /// id is this master's.
  absl::Status Announce(const v1::AnnounceZoneRequest& announcement);
  /// This master and every zone master heard from within the expiry.
  v1::ZoneDirectory List();
  /// Bumps whenever a zone master appears, moves or expires.
  uint64_t version();

 private:
  void ExpireLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration expiry_;
  Clock* const clock_;
  absl::Mutex mu_;
  struct Entry {
    v1::Peer peer;
    absl::Time last;
  };
  v1::Peer self_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Entry> zones_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace fsched::master
