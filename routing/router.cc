#include "routing/router.h"

#include <algorithm>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"

namespace fsched::routing {

absl::Time RoutingDeadline(const grpc::ServerContextBase& ctx) {
  const absl::Time cap = absl::Now() + absl::Minutes(20);
  const auto deadline = ctx.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return cap;
  return std::min(cap, absl::FromChrono(deadline));
}

struct Router::Flight {
  v1::InvokeRequest request;  // as forwarded: this node on its route
  absl::Time deadline;
  absl::Time started;
  bool entered_here = false;
  std::vector<NodeRef> targets;
  size_t next = 0;
  // This node's own queue turned the request away once, and the targets were
  // planned again for a full node.
  bool refused_here = false;
  std::vector<std::string> skipped;  // targets that failed to answer, with why
  Done done;
  RouteAccepted accepted;
};

Router::Router(Options options, RouterCallbacks* node, RoutingState* state, Clock* clock)
    : options_(std::move(options)),
      node_(node),
      state_(state),
      clock_(clock),
      latency_(clock, options_.seed),
      forwarder_(LinkDelays(options_.emulation, options_.self), &timers_) {}

Router::~Router() { Shutdown(); }

void Router::Shutdown() {
  if (stopping_.exchange(true)) return;
  forwarder_.Shutdown();
  timers_.Flush();  // delayed sends fail at once; delayed answers are handed back
  forwarder_.WaitIdle(absl::Seconds(5));
}

void Router::Route(v1::InvokeRequest request, absl::Time deadline, Done done,
                   RouteAccepted accepted) {
  if (stopping_.load()) {
    done(absl::UnavailableError(absl::StrCat(options_.self.id, " is shutting down")));
    return;
  }
  if (request.function().empty()) {
    done(absl::InvalidArgumentError("function is required"));
    return;
  }
  if (!v1::Architecture_IsValid(request.architecture())) {
    done(absl::InvalidArgumentError(
        absl::StrCat("architecture ", request.architecture(),
                     " is unknown: use centralized, federated, decentralized or dynamic")));
    return;
  }
  auto flight = std::make_shared<Flight>();
  flight->entered_here = request.route().empty();
  flight->started = clock_->Now();
  flight->deadline = deadline;
  flight->done = std::move(done);
  flight->accepted = std::move(accepted);
  // A forwarded request arrives with a concrete architecture; one entering
  // here (or a client's own "dynamic" sent on) is resolved at this node.
  const v1::Architecture architecture = state_->Resolve(request.function(), request.architecture());
  request.set_architecture(architecture);
  std::set<std::string> visited(request.route().begin(), request.route().end());
  visited.insert(options_.self.id);
  request.add_route(options_.self.id);
  const NodeRole self = options_.self.role;
  if (!ServesHereRegardless(self, architecture, request.hops())) {
    RouteInput in;
    in.self = self;
    in.architecture = architecture;
    in.hops = request.hops();
    if (PlanReadsLoad(self, architecture)) in.load = node_->RoutingLoad();
    in.offload_threshold = state_->offload_load_threshold();
    // A peer that said it is busy is still handed requests while it is clearly
    // less busy than this node: the two queues stay level (a full one turns
    // requests away), and no handoff is paid for a difference of a call or two.
    const double held_back_from = std::max(in.offload_threshold, in.load - kHandOverMargin);
    in.said_busy = [this, held_back_from](const NodeRef& peer) {
      return latency_.SaidBusy(peer.id, held_back_from);
    };
    flight->targets = Plan(in, visited);
  }
  flight->request = std::move(request);
  Attempt(std::move(flight));
}

void Router::Attempt(std::shared_ptr<Flight> flight) {
  if (stopping_.load()) {
    Finish(flight, absl::UnavailableError(
                       absl::StrCat(options_.self.id, " shut down while routing this request")));
    return;
  }
  if (flight->next >= flight->targets.size()) {
    node_->ServeHere(flight->request, flight->accepted,
                     [this, flight](absl::StatusOr<v1::InvocationResult> r) {
                       if (absl::IsResourceExhausted(r.status()) && PlanAgainAsFull(*flight)) {
                         Attempt(flight);
                         return;
                       }
                       if (r.ok()) {
                         r->set_architecture(flight->request.architecture());
                         r->set_hops(flight->request.hops());
                         *r->mutable_route() = flight->request.route();
                       }
                       Finish(flight, std::move(r));
                     });
    return;
  }
  const NodeRef target = flight->targets[flight->next++];
  v1::InvokeRequest forwarded = flight->request;
  forwarded.set_hops(flight->request.hops() + 1);
  const absl::Time sent = clock_->Now();
  const uint32_t hop = forwarded.hops();
  forwarder_.Forward(
      target, std::move(forwarded), flight->deadline,
      [this, flight, target, sent, hop](const grpc::Status& status, v1::InvocationResult result,
                                        std::optional<double> target_load) {
        if (target_load.has_value()) latency_.RecordLoad(target.id, *target_load);
        if (status.ok()) {
          latency_.Record(target.id, clock_->Now() - sent, hop);
          Finish(flight, std::move(result));
          return;
        }
        // Even after the target accepted it: a master that stopped or died
        // may never come back, and an answer now beats waiting for it
        // (at least once: a restarted master runs what it had accepted).
        if (TryElsewhere(status)) {
          latency_.MarkDown(target.id);
          flight->skipped.push_back(status.error_message());
          Attempt(flight);
          return;
        }
        Finish(flight, FromGrpcStatus(status));
      });
}

std::vector<NodeRef> Router::Plan(const RouteInput& in, const std::set<std::string>& visited) {
  const std::shared_ptr<const RouteView> view = node_->View();
  return PlanRoute(in, view ? *view : RouteView{}, visited,
                   [this](std::vector<NodeRef> t) { return latency_.Order(std::move(t)); });
}

bool Router::PlanAgainAsFull(Flight& flight) {
  const NodeRole self = options_.self.role;
  const v1::Architecture architecture = flight.request.architecture();
  // Only plans that read the load offload a full node; and only once, so a
  // request is not passed around while every node is full.
  if (flight.refused_here || !PlanReadsLoad(self, architecture)) return false;
  flight.refused_here = true;
  // Whatever the load read when the request arrived (calls not yet queued
  // here, a peer's word on its own load), the node is full now: the targets
  // of a full node, peers that said they are busy included, but for those
  // tried already.
  RouteInput in;
  in.self = self;
  in.architecture = architecture;
  in.hops = flight.request.hops();
  in.load = std::numeric_limits<double>::infinity();
  in.offload_threshold = state_->offload_load_threshold();
  std::set<std::string> visited(flight.request.route().begin(), flight.request.route().end());
  for (size_t i = 0; i < flight.next; ++i) visited.insert(flight.targets[i].id);
  flight.targets = Plan(in, visited);
  flight.next = 0;
  return !flight.targets.empty();
}

void Router::Finish(std::shared_ptr<Flight> flight, absl::StatusOr<v1::InvocationResult> result) {
  if (flight->entered_here && result.ok()) {
    result->set_entry_node(options_.self.id);
    if (result->outcome() == v1::OUTCOME_OK) {
      state_->Record(result->function(), result->architecture(),
                     absl::ToDoubleSeconds(clock_->Now() - flight->started));
    }
  }
  if (!result.ok() && !flight->skipped.empty()) {
    result = absl::Status(result.status().code(),
                          absl::StrCat(result.status().message(), " (after skipping ",
                                       absl::StrJoin(flight->skipped, "; "), ")"));
  }
  if (flight->entered_here) {
    node_->OnEntryDone(flight->request.architecture(), result, clock_->Now() - flight->started);
  }
  flight->done(std::move(result));
}

}  // namespace fsched::routing
