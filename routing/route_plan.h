// One routing decision (seed 001's architectures, DESIGN.md): given where a
// request is, by which architecture it is routed, after how many hops and how
// busy this node is, the targets to forward it to, in the order to try them.
// Empty means serve here; serving here is also what follows when every target
// fails, so a request is never dropped for want of a reachable peer.
//
//   node     centralized       federated                           decentralized
//   master   serve here        a zone master (1/latency)           a worker (1/latency)
//   zone     the master        here under the offload threshold,   a worker of the zone
//                              else another zone (1/latency)
//   worker   the master        its zone master, then other zones   here under the threshold,
//                                                                  else a peer (1/latency) that
//                                                                  has not just said it is busy
//
// At hop ≥ 2 every node serves where it is, and no node already on the
// request's route is a target, so a request cannot loop.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fsched/v1/types.pb.h"
#include "routing/topology.h"

namespace fsched::routing {

inline constexpr uint32_t kMaxHops = 2;
// How much less busy (in calls per slot) a peer that said it is busy must be
// than a busy worker for the worker to hand it a decentralized request.
inline constexpr double kHandOverMargin = 1.0;

/// The nodes this one can forward to right now.
struct RouteView {
  std::optional<NodeRef> master;       // none at the master itself
  std::optional<NodeRef> zone_master;  // this zone's master (at workers)
  std::vector<NodeRef> zone_masters;   // every live zone master but this node
  std::vector<NodeRef> workers;        // a master's workers, or a worker's peers
};

struct RouteInput {
  NodeRole self = NodeRole::kWorker;
  v1::Architecture architecture = v1::ARCHITECTURE_CENTRALIZED;  // concrete, not dynamic
  uint32_t hops = 0;                                             // the request's hop count here
  double load = 0;  // busy fraction of this node's (or zone's) slots
  double offload_threshold = 0.8;
  // A peer that said moments ago that it is at or above the threshold, and
  // not kHandOverMargin less busy than this node: not a target for a busy
  // worker's decentralized offload (null = none said so).
  std::function<bool(const NodeRef&)> said_busy;
};

using OrderFn = std::function<std::vector<NodeRef>(std::vector<NodeRef>)>;

/// Whether the plan is "serve here" whatever the view and load (the master's
/// centralized requests, hop limit reached), so callers can skip gathering them.
bool ServesHereRegardless(NodeRole self, v1::Architecture architecture, uint32_t hops);
/// Whether the plan reads RouteInput::load (a zone's federated, a worker's
/// decentralized requests); the load is not free to compute at a master.
bool PlanReadsLoad(NodeRole self, v1::Architecture architecture);

/// The targets to try, in order; `visited` are node ids already on the route.
std::vector<NodeRef> PlanRoute(const RouteInput& in, const RouteView& view,
                               const std::set<std::string>& visited, const OrderFn& order);

}  // namespace fsched::routing
