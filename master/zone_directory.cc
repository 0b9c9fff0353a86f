#include "master/zone_directory.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "routing/topology.h"

namespace fsched::master {

void ZoneDirectory::SetSelf(v1::Peer self) {
  absl::MutexLock lock(&mu_);
  self_ = std::move(self);
  ++version_;
}

absl::Status ZoneDirectory::Announce(const v1::AnnounceZoneRequest& a) {
  if (a.node_id().empty() || a.zone().empty()) {
    return absl::InvalidArgumentError("a zone master announces its node_id and zone");
  }
  if (a.address().find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("zone master ", a.node_id(), ": address '",
                                                   a.address(), "' is not host:port"));
  }
  absl::MutexLock lock(&mu_);
  if (a.node_id() == self_.worker_id()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zone master id '", a.node_id(), "' is this master's own: give it another node.id"));
  }
  ExpireLocked(clock_->Now());
  Entry& e = zones_[a.node_id()];
  if (e.peer.address() != a.address() || e.peer.zone() != a.zone()) {
    ++version_;
    FSCHED_LOG(kInfo, "zone master %s (zone %s) at %s", a.node_id(), a.zone(), a.address());
  }
  e.peer.set_worker_id(a.node_id());
  e.peer.set_address(a.address());
  e.peer.set_zone(a.zone());
  e.peer.set_role(routing::RoleName(routing::NodeRole::kZoneMaster));
  e.last = clock_->Now();
  return absl::OkStatus();
}

void ZoneDirectory::ExpireLocked(absl::Time now) {
  for (auto it = zones_.begin(); it != zones_.end();) {
    if (now - it->second.last > expiry_) {
      FSCHED_LOG(kWarning, "zone master %s (zone %s) stopped announcing; dropped", it->first,
                 it->second.peer.zone());
      it = zones_.erase(it);
      ++version_;
    } else {
      ++it;
    }
  }
}

v1::ZoneDirectory ZoneDirectory::List() {
  v1::ZoneDirectory out;
  absl::MutexLock lock(&mu_);
  *out.add_masters() = self_;
  ExpireLocked(clock_->Now());
  for (const auto& [id, e] : zones_) *out.add_masters() = e.peer;
  return out;
}

uint64_t ZoneDirectory::version() {
  absl::MutexLock lock(&mu_);
  ExpireLocked(clock_->Now());
  return version_;
}

}  // namespace fsched::master
