// A node's architecture state: names, resolution of a request's architecture,
// thresholds, and windows fed from requests that entered at the node.
#include "routing/routing_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched::routing {
namespace {

using ::testing::HasSubstr;

TEST(RoutingStateTest, NamesArchitecturesAndResolvesRequests) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RoutingState routing(DefaultConfig<TailSchedulerConfig>(), &clock);
  EXPECT_EQ(routing.architecture(), v1::ARCHITECTURE_CENTRALIZED);
  absl::StatusOr<v1::Architecture> set = routing.SetArchitecture("mesh");
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("centralized, federated"));
  EXPECT_EQ(routing.architecture(), v1::ARCHITECTURE_CENTRALIZED);  // unchanged by a bad name
  EXPECT_EQ(routing.SetArchitecture("federated").value(), v1::ARCHITECTURE_FEDERATED);
  // A request's own architecture wins; none means the node's.
  EXPECT_EQ(routing.Resolve("f", v1::ARCHITECTURE_UNSPECIFIED), v1::ARCHITECTURE_FEDERATED);
  EXPECT_EQ(routing.Resolve("f", v1::ARCHITECTURE_CENTRALIZED), v1::ARCHITECTURE_CENTRALIZED);
  // Dynamic draws from the selector, which starts all decentralized (seed 001).
  EXPECT_EQ(routing.SetArchitecture("dynamic").value(), v1::ARCHITECTURE_DYNAMIC);
  EXPECT_EQ(routing.Resolve("f", v1::ARCHITECTURE_UNSPECIFIED), v1::ARCHITECTURE_DECENTRALIZED);
  EXPECT_EQ(routing.Resolve("f", v1::ARCHITECTURE_DYNAMIC), v1::ARCHITECTURE_DECENTRALIZED);
  EXPECT_EQ(ArchitectureNamed("dynamic"), v1::ARCHITECTURE_DYNAMIC);
  EXPECT_EQ(ArchitectureName(v1::ARCHITECTURE_FEDERATED), "federated");
}

TEST(RoutingStateTest, RecordedRequestsFillTheirArchitecturesWindow) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RoutingState routing(DefaultConfig<TailSchedulerConfig>(), &clock);
  for (int i = 0; i < 20; ++i) {
    routing.Record("f", v1::ARCHITECTURE_CENTRALIZED, i % 10 == 0 ? 0.5 : 0.1);
    clock.Advance(absl::Milliseconds(100));
  }
  routing.Record("f", v1::ARCHITECTURE_DYNAMIC, 9);  // not an architecture a request runs by
  const v1::GetArchMetricsResponse m = routing.Metrics("f");
  EXPECT_EQ(m.architecture(), v1::ARCHITECTURE_CENTRALIZED);
  ASSERT_EQ(m.functions_size(), 1);
  const v1::ArchWindow& central = m.functions(0).windows(0);
  EXPECT_EQ(central.architecture(), v1::ARCHITECTURE_CENTRALIZED);
  EXPECT_EQ(central.samples(), 20u);
  EXPECT_NEAR(central.p50_seconds(), 0.1, 1e-9);
  EXPECT_EQ(m.functions(0).windows(1).samples(), 0u);
  EXPECT_FALSE(m.functions(0).has_ratios());  // they route only under dynamic
  EXPECT_EQ(m.thresholds().soft_d2f(), 1.5);
  // The window is 60 s.
  clock.Advance(absl::Seconds(61));
  EXPECT_EQ(routing.Metrics("f").functions(0).windows(0).samples(), 0u);
}

TEST(RoutingStateTest, RatiosShowWhenRequestsAskedForDynamicOnANodeThatIsNot) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RoutingState routing(DefaultConfig<TailSchedulerConfig>(), &clock);  // centralized
  routing.Record("f", v1::ARCHITECTURE_CENTRALIZED, 0.1);
  EXPECT_FALSE(routing.Metrics("f").functions(0).has_ratios());
  EXPECT_EQ(routing.Resolve("f", v1::ARCHITECTURE_DYNAMIC), v1::ARCHITECTURE_DECENTRALIZED);
  const v1::GetArchMetricsResponse m = routing.Metrics("f");
  ASSERT_TRUE(m.functions(0).has_ratios());
  EXPECT_EQ(m.functions(0).ratios().decentralized(), 1.0);
}

TEST(RoutingStateTest, ThresholdsChangeFieldByFieldOrNotAtAll) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RoutingState routing(DefaultConfig<TailSchedulerConfig>(), &clock);
  v1::Thresholds update;
  update.set_hard_d2f(3.0);
  absl::StatusOr<v1::Thresholds> t = routing.UpdateThresholds(update);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->hard_d2f(), 3.0);
  EXPECT_EQ(t->soft_d2f(), 1.5);
  update.Clear();
  update.set_soft_d2f(4.0);
  update.set_min_samples(50);
  EXPECT_EQ(routing.UpdateThresholds(update).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(routing.Metrics("").thresholds().min_samples(), 10u);  // nothing applied
}

}  // namespace
}  // namespace fsched::routing
