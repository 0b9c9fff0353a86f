// Routes one request at one node (master, zone master or worker): picks
// its architecture where it enters (dynamic: the selector's draw), plans the
// targets (route_plan.h), forwards to each in turn while they fail to answer,
// and otherwise serves it here. The answer says where it ran (worker, zone,
// route), by which architecture and after how many hops. Requests that
// entered here are timed end to end for the architecture selector.
#pragma once

#include <grpcpp/server_context.h>

#include <atomic>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/timer_queue.h"
#include "fsched/v1/types.pb.h"
#include "routing/forwarder.h"
#include "routing/route_plan.h"
#include "routing/routing_state.h"
#include "routing/target_latency.h"

namespace fsched::routing {

/// The deadline a routed request carries on: its client's, at most 20 minutes away.
absl::Time RoutingDeadline(const grpc::ServerContextBase& ctx);

using RouteDone = std::function<void(absl::StatusOr<v1::InvocationResult>)>;
/// Told the id of an invocation accepted at this node, before it runs (may be empty).
using RouteAccepted = std::function<void(const std::string& invocation_id)>;

/// What the node a Router runs in (a master or a worker) gives it. Called on
/// the routing caller's thread or on gRPC's callback threads; must not block.
class RouterCallbacks {
 public:
  virtual ~RouterCallbacks() = default;
  /// Who this node can forward to now: a snapshot, shared so a request does
  /// not copy the worker list.
  virtual std::shared_ptr<const RouteView> View() = 0;
  /// Busy fraction of this node's (a zone master: its zone's) slots.
  virtual double RoutingLoad() = 0;
  /// Runs the request here (its architecture concrete); calls done exactly
  /// once, and `accepted` (if set and if the node gives calls lasting ids)
  /// once it has accepted the call, before done.
  virtual void ServeHere(const v1::InvokeRequest& request, const RouteAccepted& accepted,
                         RouteDone done) = 0;
  /// A request that entered at this node was answered (its architecture
  /// resolved) after `elapsed`; for metrics.
  virtual void OnEntryDone(v1::Architecture architecture,
                           const absl::StatusOr<v1::InvocationResult>& result,
                           absl::Duration elapsed) = 0;
};

class Router {
 public:
  using Done = RouteDone;
  struct Options {
    NodeRef self;
    NetworkEmulationConfig emulation;
    uint64_t seed = 1;
  };

  /// `node` outlives the router.
  Router(Options options, RouterCallbacks* node, RoutingState* state, Clock* clock);
  ~Router();

  /// Calls `done` exactly once. INVALID_ARGUMENT for a request without a
  /// function or with an unknown architecture; the serving node's error
  /// otherwise. `accepted` hears the invocation's id when this node serves it
  /// (a forwarded call's id comes with its result).
  void Route(v1::InvokeRequest request, absl::Time deadline, Done done,
             RouteAccepted accepted = nullptr);
  /// Answers every request still being forwarded (UNAVAILABLE) and refuses new ones.
  void Shutdown();

  RoutingState* state() const { return state_; }
  /// This node's load, as its plans read it (RouterCallbacks::RoutingLoad).
  double NodeLoad() const { return node_->RoutingLoad(); }
  TargetLatency* latency() { return &latency_; }

 private:
  struct Flight;
  void Attempt(std::shared_ptr<Flight> flight);
  std::vector<NodeRef> Plan(const RouteInput& in, const std::set<std::string>& visited);
  /// After this node's own queue turned the request away: the targets are
  /// planned again for a full node. \return whether there are any to try.
  bool PlanAgainAsFull(Flight& flight);
  void Finish(std::shared_ptr<Flight> flight, absl::StatusOr<v1::InvocationResult> result);

  const Options options_;
  RouterCallbacks* const node_;
  RoutingState* const state_;
  Clock* const clock_;
  TargetLatency latency_;
  TimerQueue timers_;
  Forwarder forwarder_;
  std::atomic<bool> stopping_{false};
};

}  // namespace fsched::routing
