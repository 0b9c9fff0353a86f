#include "routing/route_plan.h"

#include <algorithm>

namespace fsched::routing {
namespace {

std::vector<NodeRef> Unvisited(std::vector<NodeRef> nodes, const std::set<std::string>& visited) {
  std::vector<NodeRef> out;
  for (NodeRef& n : nodes) {
    if (!visited.count(n.id) && !n.address.empty()) out.push_back(std::move(n));
  }
  return out;
}

}  // namespace

bool ServesHereRegardless(NodeRole self, v1::Architecture architecture, uint32_t hops) {
  return hops >= kMaxHops ||
         (self == NodeRole::kMaster && architecture == v1::ARCHITECTURE_CENTRALIZED);
}

bool PlanReadsLoad(NodeRole self, v1::Architecture architecture) {
  return (self == NodeRole::kZoneMaster && architecture == v1::ARCHITECTURE_FEDERATED) ||
         (self == NodeRole::kWorker && architecture == v1::ARCHITECTURE_DECENTRALIZED);
}

std::vector<NodeRef> PlanRoute(const RouteInput& in, const RouteView& view,
                               const std::set<std::string>& visited, const OrderFn& order) {
  if (in.hops >= kMaxHops) return {};
  const bool busy = in.load >= in.offload_threshold;
  auto master = [&]() -> std::vector<NodeRef> {
    if (!view.master) return {};
    return Unvisited({*view.master}, visited);
  };
  switch (in.architecture) {
    case v1::ARCHITECTURE_CENTRALIZED:
      return in.self == NodeRole::kMaster ? std::vector<NodeRef>{} : master();
    case v1::ARCHITECTURE_FEDERATED: {
      if (in.self == NodeRole::kZoneMaster && !busy) return {};
      std::vector<NodeRef> others = view.zone_masters;
      if (in.self == NodeRole::kWorker && view.zone_master) {
        // Its own zone master first; the others only when that one fails.
        std::erase_if(others, [&](const NodeRef& n) { return n.id == view.zone_master->id; });
        std::vector<NodeRef> out = Unvisited({*view.zone_master}, visited);
        for (NodeRef& n : order(Unvisited(std::move(others), visited))) out.push_back(std::move(n));
        return out;
      }
      return order(Unvisited(std::move(others), visited));
    }
    case v1::ARCHITECTURE_DECENTRALIZED: {
      if (in.self == NodeRole::kWorker && !busy) return {};
      std::vector<NodeRef> peers = Unvisited(view.workers, visited);
      if (in.self == NodeRole::kWorker && in.said_busy) {
        // Handed to a peer as busy as itself, a request is served there in
        // place at both workers' cost: better queued here.
        std::erase_if(peers, [&](const NodeRef& n) { return in.said_busy(n); });
      }
      return order(std::move(peers));
    }
    default:
      return {};
  }
}

}  // namespace fsched::routing
