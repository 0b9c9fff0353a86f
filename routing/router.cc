#include "routing/router.h"

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
  // Peers left out of targets for having just said they are busy: tried
  // after all if this node's own queue turns the request away.
  std::vector<NodeRef> held_back;
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
    in.said_busy = [this, threshold = in.offload_threshold](const NodeRef& peer) {
      return latency_.SaidBusy(peer.id, threshold);
    };
    const std::shared_ptr<const RouteView> view = node_->View();
    flight->targets = PlanRoute(
        in, view ? *view : RouteView{}, visited,
        [this](std::vector<NodeRef> t) { return latency_.Order(std::move(t)); },
        &flight->held_back);
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
                       if (absl::IsResourceExhausted(r.status()) && !flight->held_back.empty()) {
                         flight->targets = std::exchange(flight->held_back, {});
                         flight->next = 0;
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
