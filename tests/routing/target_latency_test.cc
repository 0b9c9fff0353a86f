// Offload target order: unseen first, 1/latency weights with the hop penalty,
// failed targets last for a while.
#include "routing/target_latency.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched::routing {
namespace {

NodeRef Node(const std::string& id) { return NodeRef{id, id + ":1", "z", NodeRole::kWorker}; }

TEST(TargetLatencyTest, PenaltyGrowsWithTheHop) {
  EXPECT_DOUBLE_EQ(OffloadPenalty(0), 1.0);
  EXPECT_DOUBLE_EQ(OffloadPenalty(1), 1.3);
  EXPECT_DOUBLE_EQ(OffloadPenalty(2), 1.6);
  ManualClock clock(absl::FromUnixSeconds(100));
  TargetLatency latency(&clock);
  latency.Record("a", absl::Milliseconds(100), 2);
  EXPECT_NEAR(latency.MeanSeconds("a"), 0.16, 1e-9);
  EXPECT_EQ(latency.MeanSeconds("never"), 0);
}

TEST(TargetLatencyTest, UnseenFirstThenFasterMoreOftenAndDownLast) {
  ManualClock clock(absl::FromUnixSeconds(100));
  TargetLatency latency(&clock, 7);
  latency.Record("fast", absl::Milliseconds(10), 1);
  latency.Record("slow", absl::Milliseconds(90), 1);
  int fast_first = 0;
  for (int i = 0; i < 1000; ++i) {
    std::vector<NodeRef> order = latency.Order({Node("slow"), Node("fast"), Node("new")});
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order[0].id, "new");
    fast_first += order[1].id == "fast";
  }
  // Weights 1/0.013 : 1/0.117 -> "fast" leads 90 % of the draws.
  EXPECT_NEAR(fast_first / 1000.0, 0.9, 0.04);

  latency.MarkDown("fast");
  EXPECT_EQ(latency.Order({Node("fast"), Node("slow")}).back().id, "fast");
  clock.Advance(TargetLatency::kDownFor + absl::Seconds(1));
  int fast_again = 0;
  for (int i = 0; i < 100; ++i)
    fast_again += latency.Order({Node("fast"), Node("slow")})[0].id == "fast";
  EXPECT_GT(fast_again, 70);
  // Measurements older than the window no longer count: both are unseen again.
  clock.Advance(TargetLatency::kWindow);
  EXPECT_EQ(latency.MeanSeconds("slow"), 0);
}

TEST(TargetLatencyTest, APeerThatSaidItIsBusyIsBusyUntilTheWordGoesStale) {
  ManualClock clock(absl::FromUnixSeconds(100));
  TargetLatency latency(&clock);
  EXPECT_FALSE(latency.SaidBusy("a", 0.8));  // never heard from
  latency.RecordLoad("a", 1.0);
  latency.RecordLoad("b", 0.5);
  EXPECT_TRUE(latency.SaidBusy("a", 0.8));
  EXPECT_TRUE(latency.SaidBusy("a", 1.0));  // at the threshold counts
  EXPECT_FALSE(latency.SaidBusy("b", 0.8));
  clock.Advance(TargetLatency::kLoadFresh - absl::Milliseconds(1));
  EXPECT_TRUE(latency.SaidBusy("a", 0.8));
  clock.Advance(absl::Milliseconds(1));
  EXPECT_FALSE(latency.SaidBusy("a", 0.8));  // stale: worth asking again
  latency.RecordLoad("a", 0.0);
  EXPECT_FALSE(latency.SaidBusy("a", 0.8));
}

}  // namespace
}  // namespace fsched::routing
