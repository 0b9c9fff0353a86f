// What a routing node knows of the others: their role, zone and address, and
// the emulated link delay to each (config network_emulation).
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/config.h"
#include "fsched/v1/link.pb.h"

namespace fsched::routing {

enum class NodeRole { kMaster, kZoneMaster, kWorker };

struct NodeRef {
  std::string id;
  std::string address;
  std::string zone;
  NodeRole role = NodeRole::kWorker;
};

/// "master" -> kMaster, "zone-master" -> kZoneMaster, anything else -> kWorker
/// (the names of config.v1.NodeRole in the YAML).
NodeRole PeerRole(const v1::Peer& peer);
NodeRef FromPeer(const v1::Peer& peer);
v1::Peer ToPeer(const NodeRef& node);
const char* RoleName(NodeRole role);

/// The round-trip delay this node adds to each request it forwards to a
/// target: the per-node override, else `master` when either end is the
/// master, else `same_zone` or `cross_zone`.
class LinkDelays {
 public:
  LinkDelays(NetworkEmulationConfig config, NodeRef self)
      : config_(std::move(config)), self_(std::move(self)) {}
  absl::Duration To(const NodeRef& target) const;
  bool enabled() const;

 private:
  const NetworkEmulationConfig config_;
  const NodeRef self_;
};

}  // namespace fsched::routing
