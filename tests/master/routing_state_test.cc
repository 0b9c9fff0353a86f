// The master's architecture state: names, what this master can route by,
// thresholds, and windows fed from finished invocations.
#include "master/routing_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/proto_time.h"

namespace fsched::master {
namespace {

using ::testing::HasSubstr;

v1::InvocationResult Finished(const std::string& function, double seconds,
                              v1::Outcome outcome = v1::OUTCOME_OK) {
  v1::InvocationResult r;
  r.set_function(function);
  r.set_outcome(outcome);
  ToProto(absl::Seconds(seconds), r.mutable_timings()->mutable_total());
  return r;
}

TEST(RoutingStateTest, NamesArchitecturesAndRefusesWhatItCannotRoute) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RoutingState routing(TailSchedulerConfig{}, &clock);
  EXPECT_EQ(routing.architecture(), v1::ARCHITECTURE_CENTRALIZED);
  absl::StatusOr<v1::Architecture> set = routing.SetArchitecture("mesh");
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("centralized, federated"));
  set = routing.SetArchitecture("federated");
  EXPECT_EQ(set.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("zone masters"));
  EXPECT_EQ(routing.SetArchitecture("centralized").value(), v1::ARCHITECTURE_CENTRALIZED);
  EXPECT_EQ(ArchitectureNamed("dynamic"), v1::ARCHITECTURE_DYNAMIC);
}

TEST(RoutingStateTest, FinishedInvocationsFillTheServingArchitecturesWindow) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RoutingState routing(TailSchedulerConfig{}, &clock);
  for (int i = 0; i < 20; ++i) {
    routing.Record(Finished("f", i % 10 == 0 ? 0.5 : 0.1));
    clock.Advance(absl::Milliseconds(100));
  }
  routing.Record(Finished("f", 9, v1::OUTCOME_TIMEOUT));  // failures are not routing samples
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

TEST(RoutingStateTest, ThresholdsChangeFieldByFieldOrNotAtAll) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RoutingState routing(TailSchedulerConfig{}, &clock);
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
}  // namespace fsched::master
