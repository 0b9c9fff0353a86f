#include "master/cluster_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/master/fake_worker_stream.h"

namespace fsched::master {
namespace {

using testing::FakeWorkerStream;
using testing::MakeRegister;

class ClusterManagerTest : public ::testing::Test {
 protected:
  ClusterManagerTest() : cluster_(Options(), &clock_) {}
  static ClusterManager::Options Options() {
    ClusterManager::Options o;
    o.join_token = "token";
    o.heartbeat_interval = absl::Seconds(1);
    o.heartbeat_timeout = absl::Seconds(3);
    return o;
  }
  ClusterManager::Session Join(const std::string& id, uint32_t slots,
                               std::shared_ptr<FakeWorkerStream> stream = nullptr) {
    if (!stream) stream = std::make_shared<FakeWorkerStream>();
    streams_[id] = stream;
    v1::Welcome welcome;
    auto session = cluster_.Register(MakeRegister(id, slots, "token"), stream, &welcome);
    EXPECT_TRUE(session.ok()) << session.status();
    EXPECT_EQ(welcome.worker_id(), id);
    return *session;
  }
  // A registration of `id` holding these invocations (id, attempt).
  static v1::Register Holding(const std::string& id, uint32_t slots,
                              std::vector<std::pair<std::string, uint32_t>> held) {
    v1::Register reg = MakeRegister(id, slots, "token");
    for (const auto& [invocation, attempt] : held) {
      v1::HeldInvocation* h = reg.add_held();
      h->set_invocation_id(invocation);
      h->set_attempt(attempt);
    }
    return reg;
  }
  v1::Assignment A(const std::string& id, uint32_t attempt = 1) {
    v1::Assignment a;
    a.set_invocation_id(id);
    a.set_attempt(attempt);
    return a;
  }
  ManualClock clock_{absl::FromUnixSeconds(1000)};
  ClusterManager cluster_;
  std::map<std::string, std::shared_ptr<FakeWorkerStream>> streams_;
};

TEST_F(ClusterManagerTest, WrongOrMissingTokenIsUnauthenticated) {
  v1::Welcome welcome;
  auto stream = std::make_shared<FakeWorkerStream>();
  EXPECT_EQ(cluster_.Register(MakeRegister("w", 1, "nope"), stream, &welcome).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(cluster_.Register(MakeRegister("w", 1, ""), stream, &welcome).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(cluster_.Register(MakeRegister("w", 1, "tokenx"), stream, &welcome).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(cluster_.Register(MakeRegister("", 1, "token"), stream, &welcome).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cluster_.Register(MakeRegister("w", 0, "token"), stream, &welcome).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(cluster_.List().empty());
}

TEST_F(ClusterManagerTest, WelcomeNamesABoundedSetOfSameZonePeers) {
  for (int i = 0; i < 70; ++i) {
    v1::Register reg = MakeRegister("a" + std::to_string(i), 1, "token");
    reg.set_zone("east");
    reg.set_address("10.0.0." + std::to_string(i) + ":7000");
    v1::Welcome welcome;
    ASSERT_TRUE(cluster_.Register(reg, std::make_shared<FakeWorkerStream>(), &welcome).ok());
  }
  v1::Register west = MakeRegister("b0", 1, "token");
  west.set_zone("west");
  v1::Welcome welcome;
  ASSERT_TRUE(cluster_.Register(west, std::make_shared<FakeWorkerStream>(), &welcome).ok());
  EXPECT_EQ(welcome.peers_size(), 0);  // nobody else in its zone

  v1::Register east = MakeRegister("a5", 1, "token");  // a reconnect
  east.set_zone("east");
  ASSERT_TRUE(cluster_.Register(east, std::make_shared<FakeWorkerStream>(), &welcome).ok());
  EXPECT_EQ(welcome.peers_size(), 64);
  for (const v1::Peer& peer : welcome.peers()) {
    EXPECT_EQ(peer.zone(), "east");
    EXPECT_NE(peer.worker_id(), "a5");
    EXPECT_FALSE(peer.address().empty());
  }
}

TEST_F(ClusterManagerTest, SlotsAreReservedAndReleased) {
  Join("w1", 2);
  ASSERT_TRUE(cluster_.Assign("w1", A("i1")).ok());
  ASSERT_TRUE(cluster_.Assign("w1", A("i2")).ok());
  EXPECT_EQ(cluster_.Assign("w1", A("i3")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(cluster_.ReadyWorkers()[0].free_slots, 0u);
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 2u);
  EXPECT_FALSE(cluster_.Release("w1", "i1", 2));  // wrong attempt: stale
  EXPECT_TRUE(cluster_.Release("w1", "i1", 1));
  EXPECT_FALSE(cluster_.Release("w1", "i1", 1));  // duplicate
  EXPECT_EQ(cluster_.ReadyWorkers()[0].free_slots, 1u);
  EXPECT_EQ(cluster_.Get("w1")->completed(), 1u);
}

TEST_F(ClusterManagerTest, CacheWaysAreReservedUntilTheResultOrTheWorkersDeath) {
  v1::Register reg = MakeRegister("w1", 4, "token");
  reg.mutable_capacity()->set_cat_supported(true);
  reg.mutable_capacity()->set_cache_ways(20);
  v1::Welcome welcome;
  ASSERT_TRUE(cluster_.Register(reg, std::make_shared<FakeWorkerStream>(), &welcome).ok());
  v1::Assignment a = A("i1"), b = A("i2");
  a.set_cache_ways(6);
  b.set_cache_ways(4);
  ASSERT_TRUE(cluster_.Assign("w1", a).ok());
  ASSERT_TRUE(cluster_.Assign("w1", b).ok());
  EXPECT_EQ(cluster_.Get("w1")->cache_ways_reserved(), 10u);
  EXPECT_EQ(cluster_.WorkersWithRoom()[0].cache_ways_free, 10u);
  ClusterManager::CacheTotals totals = cluster_.GetCacheTotals();
  EXPECT_EQ(totals.free_ways, 10u);
  EXPECT_EQ(totals.max_ways, 20u);
  EXPECT_FALSE(cluster_.Release("w1", "i1", 7));  // a stale result releases nothing
  EXPECT_EQ(cluster_.Get("w1")->cache_ways_reserved(), 10u);
  ASSERT_TRUE(cluster_.Release("w1", "i1", 1));
  EXPECT_EQ(cluster_.Get("w1")->cache_ways_reserved(), 4u);
  // A worker that dies gives back what its lost invocations held.
  clock_.Advance(absl::Seconds(4));
  ASSERT_EQ(cluster_.Tick().size(), 1u);
  EXPECT_EQ(cluster_.Get("w1")->cache_ways_reserved(), 0u);
  EXPECT_EQ(cluster_.GetCacheTotals().free_ways, 0u);  // not ready: not counted
}

TEST_F(ClusterManagerTest, SilentWorkerDiesAndItsWorkIsReturned) {
  auto session = Join("w1", 2);
  Join("w2", 2);
  ASSERT_TRUE(cluster_.Assign("w1", A("i1")).ok());
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(cluster_.Heartbeat(session, v1::Heartbeat()).ok());
  v1::Heartbeat beat;
  clock_.Advance(absl::Seconds(2));  // w2 silent for 4 s, w1 for 2 s
  auto lost = cluster_.Tick();
  EXPECT_TRUE(lost.empty());
  EXPECT_EQ(cluster_.Get("w2")->state(), v1::WORKER_STATE_DEAD);
  ASSERT_TRUE(streams_["w2"]->closed().has_value());
  clock_.Advance(absl::Seconds(2));
  lost = cluster_.Tick();
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].invocation_id, "i1");
  EXPECT_EQ(cluster_.Get("w1")->state(), v1::WORKER_STATE_DEAD);
  EXPECT_TRUE(cluster_.ReadyWorkers().empty());
}

TEST_F(ClusterManagerTest, ResponseTimesOverTheWindowReachThePlacementView) {
  auto session = Join("w1", 4);
  ASSERT_TRUE(cluster_.Assign("w1", A("i1")).ok());
  ASSERT_TRUE(cluster_.Assign("w1", A("i2")).ok());
  clock_.Advance(absl::Milliseconds(100));
  ASSERT_TRUE(cluster_.Release("w1", "i1", 1));
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_TRUE(cluster_.Release("w1", "i2", 1));
  scheduling::WorkerView view = cluster_.ReadyWorkers()[0];
  EXPECT_EQ(view.response_samples, 2u);
  EXPECT_NEAR(view.mean_response_seconds, (0.1 + 0.3) / 2, 1e-9);
  clock_.Advance(absl::Seconds(59.95));  // i1's sample (at 0.1 s) leaves the 60 s window
  ASSERT_TRUE(cluster_.Heartbeat(session, v1::Heartbeat()).ok());  // still alive
  cluster_.Tick();
  view = cluster_.ReadyWorkers()[0];
  EXPECT_EQ(view.response_samples, 1u);
  EXPECT_NEAR(view.mean_response_seconds, 0.3, 1e-9);
}

TEST_F(ClusterManagerTest, QuickReconnectKeepsInFlightWork) {
  auto first = Join("w1", 2);
  ASSERT_TRUE(cluster_.Assign("w1", A("i1")).ok());
  cluster_.Disconnected(first);
  EXPECT_EQ(cluster_.Get("w1")->state(), v1::WORKER_STATE_DISCONNECTED);
  EXPECT_TRUE(cluster_.ReadyWorkers().empty());
  clock_.Advance(absl::Seconds(1));
  const v1::Register reg = Holding("w1", 2, {{"i1", 1}});
  v1::Welcome welcome;
  std::vector<InFlight> lost;
  auto second = cluster_.Register(reg, std::make_shared<FakeWorkerStream>(), &welcome, &lost);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first.id, second->id);
  EXPECT_TRUE(lost.empty());
  EXPECT_THAT(welcome.awaiting(), ::testing::ElementsAre("i1"));
  EXPECT_EQ(cluster_.Get("w1")->slots_used(), 1u);
  EXPECT_TRUE(cluster_.Release("w1", "i1", 1));  // the result arrives on the new stream
  // The old session can no longer heartbeat or disconnect the new one.
  EXPECT_EQ(cluster_.Heartbeat(first, v1::Heartbeat()).code(), absl::StatusCode::kNotFound);
  cluster_.Disconnected(first);
  EXPECT_EQ(cluster_.Get("w1")->state(), v1::WORKER_STATE_READY);
}

// An assignment, or its result, lost with a broken link: the worker does not
// hold it when it reconnects, so it is handed back for re-queueing at once
// (not left running forever), and so is one held under another attempt.
TEST_F(ClusterManagerTest, AReconnectingWorkerGivesBackWhatItNoLongerHolds) {
  auto first = Join("w1", 3);
  ASSERT_TRUE(cluster_.Assign("w1", A("kept")).ok());
  ASSERT_TRUE(cluster_.Assign("w1", A("lost")).ok());
  ASSERT_TRUE(cluster_.Assign("w1", A("older", 2)).ok());
  cluster_.Disconnected(first);
  const v1::Register reg = Holding("w1", 3, {{"kept", 1}, {"older", 1}});
  v1::Welcome welcome;
  std::vector<InFlight> lost;
  ASSERT_TRUE(cluster_.Register(reg, std::make_shared<FakeWorkerStream>(), &welcome, &lost).ok());
  ASSERT_EQ(lost.size(), 2u);
  std::sort(lost.begin(), lost.end(),
            [](const InFlight& a, const InFlight& b) { return a.invocation_id < b.invocation_id; });
  EXPECT_EQ(lost[0].invocation_id, "lost");
  EXPECT_EQ(lost[0].attempt, 1u);
  EXPECT_EQ(lost[1].invocation_id, "older");
  EXPECT_EQ(lost[1].attempt, 2u);
  EXPECT_THAT(welcome.awaiting(), ::testing::ElementsAre("kept"));
  EXPECT_EQ(cluster_.Get("w1")->slots_used(), 1u);
  EXPECT_FALSE(cluster_.Release("w1", "lost", 1));
}

// After a master restart the journal names the worker that ran an attempt:
// the worker is known (disconnected) until it reconnects and confirms it,
// and is not declared dead before the reconnect grace has passed.
TEST_F(ClusterManagerTest, RecoveredWorkWaitsForItsWorkerWithinTheGrace) {
  cluster_.Recovered("w1", {"confirmed", 3}, clock_.Now() - absl::Seconds(2));
  cluster_.Recovered("w1", {"forgotten", 1}, clock_.Now());
  cluster_.Recovered("w2", {"never-back", 1}, clock_.Now());
  EXPECT_EQ(cluster_.Get("w1")->state(), v1::WORKER_STATE_DISCONNECTED);
  EXPECT_TRUE(cluster_.ReadyWorkers().empty());
  clock_.Advance(absl::Seconds(10));  // past the heartbeat timeout, within the grace
  EXPECT_TRUE(cluster_.Tick().empty());

  const v1::Register reg = Holding("w1", 2, {{"confirmed", 3}});
  v1::Welcome welcome;
  std::vector<InFlight> lost;
  ASSERT_TRUE(cluster_.Register(reg, std::make_shared<FakeWorkerStream>(), &welcome, &lost).ok());
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].invocation_id, "forgotten");
  EXPECT_THAT(welcome.awaiting(), ::testing::ElementsAre("confirmed"));
  EXPECT_EQ(cluster_.ReadyWorkers()[0].free_slots, 1u);
  EXPECT_TRUE(cluster_.Release("w1", "confirmed", 3));

  clock_.Advance(absl::Seconds(6));  // 16 s: the grace (15 s) is over for w2
  const std::vector<InFlight> dead = cluster_.Tick();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].invocation_id, "never-back");
  EXPECT_EQ(cluster_.Get("w2")->state(), v1::WORKER_STATE_DEAD);
}

TEST_F(ClusterManagerTest, ReturningDeadWorkerStillHoldsSlotsForWhatItRuns) {
  Join("w1", 2);
  ASSERT_TRUE(cluster_.Assign("w1", A("i1")).ok());
  clock_.Advance(absl::Seconds(4));
  ASSERT_EQ(cluster_.Tick().size(), 1u);  // declared dead: i1 goes back to the queue
  // It was only slow; it comes back still running i1.
  v1::Register reg = MakeRegister("w1", 2, "token");
  reg.add_running("i1");
  v1::Welcome welcome;
  ASSERT_TRUE(cluster_.Register(reg, std::make_shared<FakeWorkerStream>(), &welcome).ok());
  ASSERT_EQ(cluster_.ReadyWorkers().size(), 1u);
  EXPECT_EQ(cluster_.ReadyWorkers()[0].free_slots, 1u);
  EXPECT_EQ(cluster_.Get("w1")->slots_used(), 1u);
  // Its late result is stale (the re-queued attempt owns the invocation) but frees the slot.
  EXPECT_FALSE(cluster_.Release("w1", "i1", 1));
  EXPECT_EQ(cluster_.ReadyWorkers()[0].free_slots, 2u);
}

TEST_F(ClusterManagerTest, SecondConnectionReplacesAndClosesTheFirst) {
  auto old_stream = std::make_shared<FakeWorkerStream>();
  Join("w1", 1, old_stream);
  Join("w1", 1);
  ASSERT_TRUE(old_stream->closed().has_value());
  EXPECT_EQ(old_stream->closed()->code(), absl::StatusCode::kAborted);
}

TEST_F(ClusterManagerTest, DrainAndRemove) {
  Join("w1", 2);
  ASSERT_TRUE(cluster_.Assign("w1", A("i1")).ok());
  auto drained = cluster_.Drain("w1");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->state(), v1::WORKER_STATE_DRAINING);
  EXPECT_TRUE(cluster_.ReadyWorkers().empty());
  EXPECT_EQ(cluster_.Assign("w1", A("i2")).code(), absl::StatusCode::kFailedPrecondition);
  auto refused = cluster_.Remove("w1", false);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  auto removed = cluster_.Remove("w1", true);
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ(streams_["w1"]->closed()->code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(cluster_.Get("w1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cluster_.Drain("w9").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClusterManagerTest, AwaitWorkerAnswersOnJoinOrDeadline) {
  std::vector<absl::StatusOr<v1::WorkerInfo>> answers;
  cluster_.AwaitWorker("w1", clock_.Now() + absl::Seconds(5),
                       [&](absl::StatusOr<v1::WorkerInfo> info) { answers.push_back(info); });
  cluster_.AwaitWorker("w2", clock_.Now() + absl::Seconds(5),
                       [&](absl::StatusOr<v1::WorkerInfo> info) { answers.push_back(info); });
  Join("w1", 1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0]->id(), "w1");
  clock_.Advance(absl::Seconds(1));
  Join("w1", 1);  // keep w1 alive through the tick below
  clock_.Advance(absl::Seconds(5));
  cluster_.Tick();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].status().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace fsched::master
