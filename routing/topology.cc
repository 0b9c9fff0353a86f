#include "routing/topology.h"

#include "common/proto_time.h"

namespace fsched::routing {

NodeRole PeerRole(const v1::Peer& peer) {
  if (peer.role() == "master") return NodeRole::kMaster;
  if (peer.role() == "zone-master") return NodeRole::kZoneMaster;
  return NodeRole::kWorker;
}

NodeRef FromPeer(const v1::Peer& peer) {
  return NodeRef{peer.worker_id(), peer.address(), peer.zone(), PeerRole(peer)};
}

const char* RoleName(NodeRole role) {
  switch (role) {
    case NodeRole::kMaster:
      return "master";
    case NodeRole::kZoneMaster:
      return "zone-master";
    case NodeRole::kWorker:
      break;
  }
  return "worker";
}

v1::Peer ToPeer(const NodeRef& node) {
  v1::Peer peer;
  peer.set_worker_id(node.id);
  peer.set_address(node.address);
  peer.set_zone(node.zone);
  peer.set_role(RoleName(node.role));
  return peer;
}

absl::Duration LinkDelays::To(const NodeRef& target) const {
  if (auto it = config_.nodes().find(target.id); it != config_.nodes().end()) {
    return FromProto(it->second);
  }
  if (target.role == NodeRole::kMaster || self_.role == NodeRole::kMaster) {
    return FromProto(config_.master());
  }
  return FromProto(target.zone == self_.zone ? config_.same_zone() : config_.cross_zone());
}

bool LinkDelays::enabled() const {
  return FromProto(config_.same_zone()) > absl::ZeroDuration() ||
         FromProto(config_.cross_zone()) > absl::ZeroDuration() ||
         FromProto(config_.master()) > absl::ZeroDuration() || !config_.nodes().empty();
}

}  // namespace fsched::routing
