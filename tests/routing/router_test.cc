// The router at one node, with the node's own serving faked and real gRPC
// channels to targets that do not answer: what it serves here, what it tries
// first, what it reports, and what it refuses.
#include "routing/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "common/server.h"

namespace fsched::routing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A port nothing listens on: connecting is refused at once (UNAVAILABLE).
const NodeRef kDeadMaster{"master", "127.0.0.1:1", "", NodeRole::kMaster};
const NodeRef kUnreachablePeer{"w2", "127.0.0.1:1", "a", NodeRole::kWorker};

// The node's side, faked: serving here takes 250 ms of the manual clock and
// answers OK; entries are recorded.
class FakeNode : public RouterCallbacks {
 public:
  explicit FakeNode(ManualClock* clock) : clock_(clock) {}
  std::shared_ptr<const RouteView> View() override {
    return std::make_shared<const RouteView>(view);
  }
  double RoutingLoad() override { return load; }
  void ServeHere(const v1::InvokeRequest& request, const RouteAccepted&, RouteDone done) override {
    served.push_back(request);
    if (full) {
      done(absl::ResourceExhaustedError("all 2 slots of this worker are busy and 8 calls wait"));
      return;
    }
    clock_->Advance(absl::Milliseconds(250));  // the time the call takes here
    v1::InvocationResult result;
    result.set_function(request.function());
    result.set_outcome(v1::OUTCOME_OK);
    result.set_worker_id("here");
    done(result);
  }
  void OnEntryDone(v1::Architecture a, const absl::StatusOr<v1::InvocationResult>& r,
                   absl::Duration elapsed) override {
    entries.push_back({a, r.status().code(), elapsed});
  }

  struct Entry {
    v1::Architecture architecture;
    absl::StatusCode code;
    absl::Duration elapsed;
  };
  RouteView view;
  double load = 0.0;
  bool full = false;  // its queue turns requests away
  std::vector<v1::InvokeRequest> served;
  std::vector<Entry> entries;

 private:
  ManualClock* const clock_;
};

class RouterTest : public ::testing::Test {
 protected:
  static Router::Options BaseOptions(NodeRef self) {
    Router::Options o;
    o.self = std::move(self);
    o.emulation = DefaultConfig<NetworkEmulationConfig>();
    return o;
  }
  // Routes and waits for the answer (forwarding answers on another thread).
  absl::StatusOr<v1::InvocationResult> RouteAndWait(Router& router, v1::InvokeRequest request) {
    absl::Notification answered;
    absl::StatusOr<v1::InvocationResult> out;
    router.Route(std::move(request), absl::Now() + absl::Seconds(20),
                 [&](absl::StatusOr<v1::InvocationResult> r) {
                   out = std::move(r);
                   answered.Notify();
                 });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return out;
  }
  static v1::InvokeRequest Request(const std::string& function,
                                   v1::Architecture architecture = v1::ARCHITECTURE_UNSPECIFIED) {
    v1::InvokeRequest request;
    request.set_function(function);
    request.set_architecture(architecture);
    return request;
  }

  ManualClock clock_{absl::FromUnixSeconds(1000)};
  RoutingState state_{DefaultConfig<TailSchedulerConfig>(), &clock_};
  FakeNode node_{&clock_};
};

TEST_F(RouterTest, TheMasterServesCentralizedRequestsItselfAndSaysHow) {
  Router router(BaseOptions({"master", "h:1", "", NodeRole::kMaster}), &node_, &state_, &clock_);
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, Request("f"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(node_.served.size(), 1u);
  EXPECT_EQ(r->architecture(), v1::ARCHITECTURE_CENTRALIZED);
  EXPECT_EQ(r->hops(), 0u);
  EXPECT_THAT(r->route(), ElementsAre("master"));
  EXPECT_EQ(r->entry_node(), "master");
  ASSERT_EQ(node_.entries.size(), 1u);
  EXPECT_EQ(node_.entries[0].architecture, v1::ARCHITECTURE_CENTRALIZED);
  EXPECT_EQ(node_.entries[0].elapsed, absl::Milliseconds(250));
  router.Shutdown();
}

// A busy worker keeps a decentralized request its only peer just said it has
// no room for; if its own queue turns the request away, the peer is tried after all.
TEST_F(RouterTest, ABusyWorkerKeepsWhatABusyPeerWouldOnlyQueueUnlessItsOwnQueueIsFull) {
  const NodeRef peer = kUnreachablePeer;
  node_.view.workers = {peer};
  node_.load = 1.0;
  Router router(BaseOptions({"w1", "h:2", "a", NodeRole::kWorker}), &node_, &state_, &clock_);
  router.latency()->RecordLoad(peer.id, 1.0);
  v1::InvokeRequest request = Request("f", v1::ARCHITECTURE_DECENTRALIZED);
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->route(), ElementsAre("w1"));
  EXPECT_EQ(node_.served.size(), 1u);

  router.latency()->RecordLoad(peer.id, 1.0);  // fresh again on the manual clock
  node_.full = true;
  node_.served.clear();
  r = RouteAndWait(router, request);
  // Here (full), then the peer (unreachable), then here once more: the last answer stands.
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("after skipping worker w2 (127.0.0.1:1)"));
  EXPECT_EQ(node_.served.size(), 2u);
  router.Shutdown();
}

// A peer that said it is busy but is clearly less busy than this worker still
// gets its requests: the two queues stay level instead of one filling up.
TEST_F(RouterTest, ABusyWorkerHandsRequestsToAPeerClearlyLessBusyThanItself) {
  const NodeRef peer = kUnreachablePeer;
  node_.view.workers = {peer};
  node_.load = 5.0;   // 2 slots, 8 waiting
  node_.full = true;  // so every try shows in served or in the message
  Router router(BaseOptions({"w1", "h:2", "a", NodeRole::kWorker}), &node_, &state_, &clock_);
  v1::InvokeRequest request = Request("f", v1::ARCHITECTURE_DECENTRALIZED);

  router.latency()->RecordLoad(peer.id, 5.0 - kHandOverMargin - 0.5);
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, request);
  // The peer first (unreachable), then here: nothing was held back to try after.
  EXPECT_THAT(r.status().message(), HasSubstr("after skipping worker w2 (127.0.0.1:1)"));
  EXPECT_EQ(node_.served.size(), 1u);

  router.latency()->RecordLoad(peer.id, 5.0 - kHandOverMargin);
  node_.served.clear();
  r = RouteAndWait(router, request);
  // Not clearly less busy: held back, so here first, then the peer, then here again.
  EXPECT_THAT(r.status().message(), HasSubstr("after skipping worker w2 (127.0.0.1:1)"));
  EXPECT_EQ(node_.served.size(), 2u);
  router.Shutdown();
}

// A worker that read itself idle (its calls were still being looked up, not
// queued) and then found its queue full tries its peers before giving up.
TEST_F(RouterTest, AWorkerWhoseQueueTurnsARequestAwayTriesItsPeersOnce) {
  const NodeRef peer = kUnreachablePeer;
  node_.view.workers = {peer};
  node_.load = 0.0;
  node_.full = true;
  Router router(BaseOptions({"w1", "h:2", "a", NodeRole::kWorker}), &node_, &state_, &clock_);
  v1::InvokeRequest request = Request("f", v1::ARCHITECTURE_DECENTRALIZED);
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, request);
  // Here (full), the peer (unreachable), here once more: the last answer stands.
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("after skipping worker w2 (127.0.0.1:1)"));
  EXPECT_EQ(node_.served.size(), 2u);

  // Centralized requests at a worker go to the master, not to peers.
  node_.served.clear();
  request.set_architecture(v1::ARCHITECTURE_CENTRALIZED);
  r = RouteAndWait(router, request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(node_.served.size(), 1u);
  router.Shutdown();
}

TEST_F(RouterTest, AWorkerServesItselfWhenTheMasterDoesNotAnswer) {
  node_.view.master = kDeadMaster;
  Router router(BaseOptions({"w1", "h:2", "a", NodeRole::kWorker}), &node_, &state_, &clock_);
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, Request("f"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(node_.served.size(), 1u);  // after the master refused the connection
  EXPECT_EQ(r->worker_id(), "here");
  EXPECT_THAT(r->route(), ElementsAre("w1"));
  EXPECT_EQ(r->hops(), 0u);
  // The refusing target goes last for a while.
  EXPECT_EQ(router.latency()
                ->Order({kDeadMaster, {"zone-master-a", "h:3", "a", NodeRole::kZoneMaster}})[0]
                .id,
            "zone-master-a");
  router.Shutdown();
}

// A master that accepts calls and then stops before answering them.
class StoppingMaster : public v1::Controller::Service {
 public:
  grpc::Status Invoke(grpc::ServerContext* ctx, const v1::InvokeRequest*,
                      v1::InvocationResult*) override {
    ctx->AddInitialMetadata(kInvocationIdHeader, "inv-3");
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the master is stopping");
  }
};

// A master that accepted the call and then went away may never come back:
// the entry serves it rather than leave its caller without an answer (at
// least once: a master restarted on its state runs what it had accepted).
TEST_F(RouterTest, ACallTheMasterAcceptedAndThenLostIsServedHere) {
  StoppingMaster master;
  auto server = StartServer("127.0.0.1:0", {&master}, 64 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("127.0.0.1:", server->port);
  node_.view.master = {"master", address, "", NodeRole::kMaster};
  Router router(BaseOptions({"w1", "h:2", "a", NodeRole::kWorker}), &node_, &state_, &clock_);
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, Request("f"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->worker_id(), "here");
  EXPECT_EQ(node_.served.size(), 1u);
  router.Shutdown();
  server->server->Shutdown(absl::ToChronoTime(absl::Now()));
}

TEST_F(RouterTest, AtTheHopLimitEveryNodeServesInPlace) {
  node_.view.master = kDeadMaster;
  Router router(BaseOptions({"w1", "h:2", "a", NodeRole::kWorker}), &node_, &state_, &clock_);
  v1::InvokeRequest request = Request("f");
  request.set_hops(kMaxHops);
  request.set_architecture(v1::ARCHITECTURE_CENTRALIZED);
  request.add_route("zone-master-a");
  request.add_route("master");
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->route(), ElementsAre("zone-master-a", "master", "w1"));
  EXPECT_EQ(r->hops(), kMaxHops);
  EXPECT_TRUE(node_.entries.empty());  // it did not enter here
  router.Shutdown();
}

TEST_F(RouterTest, BadRequestsAreRefusedBeforeAnythingRuns) {
  Router router(BaseOptions({"master", "h:1", "", NodeRole::kMaster}), &node_, &state_, &clock_);
  absl::StatusOr<v1::InvocationResult> r = RouteAndWait(router, Request(""));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  v1::InvokeRequest bad = Request("f");
  bad.set_architecture(static_cast<v1::Architecture>(42));
  r = RouteAndWait(router, bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("architecture 42 is unknown"));
  EXPECT_TRUE(node_.served.empty());
  router.Shutdown();
  r = RouteAndWait(router, Request("f"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(node_.served.empty());
}

}  // namespace
}  // namespace fsched::routing
