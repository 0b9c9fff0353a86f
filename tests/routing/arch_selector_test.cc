// The dynamic architecture selector: ramps, rate gates, smoothing, the
// weighted draw, live thresholds and what it reports.
#include "routing/arch_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace fsched::routing {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1000);

// Feeds `seconds` of traffic at `rate` req/s: each request is chosen, then
// recorded with a time from `latency(architecture, n)`.
template <typename Latency>
absl::Time Drive(ArchSelector& s, absl::Time from, double seconds, double rate, Latency latency,
                 std::map<v1::Architecture, int>* chosen = nullptr) {
  const absl::Duration step = absl::Seconds(1 / rate);
  absl::Time t = from;
  for (int n = 0; t < from + absl::Seconds(seconds); ++n, t += step) {
    const v1::Architecture a = s.Choose("f", t);
    if (chosen) ++(*chosen)[a];
    // Every architecture keeps being measured (the probes of a real cluster).
    for (v1::Architecture each : {v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_FEDERATED,
                                  v1::ARCHITECTURE_DECENTRALIZED}) {
      s.Record("f", each, latency(each, n), t);
    }
  }
  return t;
}

// A heavy tail: every tenth request takes ten times as long (P95/P50 = 10).
double Tail(int n) { return n % 10 == 0 ? 1.0 : 0.1; }

TEST(ArchSelectorTest, RampIsZeroBelowSoftOneAboveHardLinearBetween) {
  EXPECT_EQ(Ramp(1.2, 1.5, 2.5), 0);
  EXPECT_EQ(Ramp(1.5, 1.5, 2.5), 0);
  EXPECT_DOUBLE_EQ(Ramp(2.0, 1.5, 2.5), 0.5);
  EXPECT_EQ(Ramp(2.5, 1.5, 2.5), 1);
  EXPECT_EQ(Ramp(9.0, 1.5, 2.5), 1);
}

TEST(ArchSelectorTest, StaysDecentralizedWhileTailsAreShortOrTrafficIsLight) {
  ArchSelector s(DefaultConfig<ArchThresholds>());
  std::map<v1::Architecture, int> chosen;
  absl::Time t = Drive(
      s, kStart, 30, 10, [](v1::Architecture, int) { return 0.1; }, &chosen);
  EXPECT_EQ(chosen[v1::ARCHITECTURE_DECENTRALIZED], 300);
  // A long decentralized tail, but 0.4 req/s is under the 0.5 req/s gate.
  chosen.clear();
  Drive(
      s, t, 60, 0.4, [](v1::Architecture, int n) { return Tail(n); }, &chosen);
  EXPECT_EQ(chosen[v1::ARCHITECTURE_DECENTRALIZED], 24);
}

TEST(ArchSelectorTest, ALongDecentralizedTailMovesTrafficToFederatedSmoothly) {
  ArchSelector s(DefaultConfig<ArchThresholds>());
  const auto latency = [](v1::Architecture a, int n) {
    return a == v1::ARCHITECTURE_DECENTRALIZED ? Tail(n) : 0.1;
  };
  absl::Time t = Drive(s, kStart, 11, 10, latency);
  ArchSelector::Ratios r = s.ratios("f");
  EXPECT_GT(r.federated, 0);
  EXPECT_LT(r.federated, 0.9);  // not all at once
  // The next update moves a = 0.1 + 0.8·sigmoid(0.5·(|Δrate| − 5)) of the way
  // toward the target (all federated); two quiet seconds lower the rate.
  const double before = r.federated;
  t += absl::Seconds(2);
  s.Update(t);
  const v1::FunctionArchMetrics m = s.Metrics("f", t)[0];
  const int n = m.rate_log_size();
  const double delta = std::abs(m.rate_log(n - 1) - m.rate_log(n - 2));
  EXPECT_GT(delta, 1);
  const double a = 0.1 + 0.8 / (1 + std::exp(-0.5 * (delta - 5)));
  EXPECT_NEAR(s.ratios("f").federated, before + a * (1 - before), 1e-9);
  std::map<v1::Architecture, int> chosen;
  Drive(s, t, 60, 10, latency, &chosen);
  r = s.ratios("f");
  EXPECT_GT(r.federated, 0.99);
  EXPECT_NEAR(r.centralized + r.federated + r.decentralized, 1, 1e-9);
  EXPECT_GT(chosen[v1::ARCHITECTURE_FEDERATED], 500);
  EXPECT_EQ(chosen[v1::ARCHITECTURE_CENTRALIZED], 0);
}

TEST(ArchSelectorTest, LongTailsEverywhereMoveTrafficToCentralizedAboveItsRateGate) {
  ArchSelector s(DefaultConfig<ArchThresholds>());
  // 1 req/s: past the federated gate, under the centralized one.
  absl::Time t = Drive(s, kStart, 60, 1, [](v1::Architecture, int n) { return Tail(n); });
  EXPECT_GT(s.ratios("f").federated, 0.9);
  EXPECT_LT(s.ratios("f").centralized, 0.01);
  std::map<v1::Architecture, int> chosen;
  Drive(
      s, t, 60, 5, [](v1::Architecture, int n) { return Tail(n); }, &chosen);
  EXPECT_GT(s.ratios("f").centralized, 0.95);
  EXPECT_GT(chosen[v1::ARCHITECTURE_CENTRALIZED], 200);
}

TEST(ArchSelectorTest, DrawsFollowTheRatios) {
  ArchThresholds th = DefaultConfig<ArchThresholds>();
  th.set_soft_d2f_threshold(1.5);
  th.set_hard_d2f_threshold(9.0);  // a tail ratio of 10 ramps fully; of 5.25, half
  ArchSelector s(th, 7);
  // P95/P50 = 5.25 for decentralized: fed_w = 0.5 at steady state.
  const auto latency = [](v1::Architecture a, int n) {
    return a == v1::ARCHITECTURE_DECENTRALIZED && n % 10 == 0 ? 0.525 : 0.1;
  };
  absl::Time t = Drive(s, kStart, 120, 10, latency);
  const ArchSelector::Ratios r = s.ratios("f");
  ASSERT_GT(r.federated, 0.1);
  ASSERT_GT(r.decentralized, 0.1);
  std::map<v1::Architecture, int> chosen;
  for (int i = 0; i < 20000; ++i) ++chosen[s.Choose("g", t)];  // g: all decentralized
  EXPECT_EQ(chosen[v1::ARCHITECTURE_DECENTRALIZED], 20000);
  chosen.clear();
  // Draws for f within a second (no update in between).
  for (int i = 0; i < 20000; ++i) ++chosen[s.Choose("f", t + absl::Milliseconds(i % 500))];
  EXPECT_NEAR(chosen[v1::ARCHITECTURE_FEDERATED] / 20000.0, s.ratios("f").federated, 0.02);
}

TEST(ArchSelectorTest, ThresholdsUpdateFieldByFieldAndRefuseNonsense) {
  ArchThresholds th = DefaultConfig<ArchThresholds>();
  v1::Thresholds update;
  update.set_soft_d2f(1.2);
  ASSERT_TRUE(ApplyThresholds(update, &th).ok());
  EXPECT_EQ(th.soft_d2f_threshold(), 1.2);
  EXPECT_EQ(th.hard_d2f_threshold(), 2.5);  // left out: kept
  EXPECT_EQ(th.min_samples(), 10u);
  update.Clear();
  update.set_soft_f2c(3.0);  // above hard_f2c 2.7
  const absl::Status bad = ApplyThresholds(update, &th);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("soft_f2c"));
  EXPECT_EQ(th.soft_f2c_threshold(), 1.7);  // unchanged
  update.Clear();
  update.set_sample_interval_seconds(0.01);
  EXPECT_EQ(ApplyThresholds(update, &th).code(), absl::StatusCode::kInvalidArgument);
  update.Clear();
  update.set_offload_load_threshold(1.5);
  EXPECT_EQ(ApplyThresholds(update, &th).code(), absl::StatusCode::kInvalidArgument);
  const v1::Thresholds round = ThresholdsProto(th);
  EXPECT_EQ(round.soft_d2f(), 1.2);
  EXPECT_EQ(round.min_samples(), 10u);
}

TEST(ArchSelectorTest, MetricsReportWindowsRatiosAndRates) {
  ArchSelector s(DefaultConfig<ArchThresholds>());
  const absl::Time t = Drive(s, kStart, 20, 5, [](v1::Architecture a, int n) {
    return a == v1::ARCHITECTURE_FEDERATED ? Tail(n) : 0.2;
  });
  std::vector<v1::FunctionArchMetrics> m = s.Metrics("", t);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].function(), "f");
  ASSERT_EQ(m[0].windows_size(), 3);
  EXPECT_EQ(m[0].windows(1).architecture(), v1::ARCHITECTURE_FEDERATED);
  EXPECT_EQ(m[0].windows(1).samples(), 100u);
  EXPECT_NEAR(m[0].windows(1).tail_ratio(), 10, 1e-9);
  EXPECT_NEAR(m[0].windows(0).tail_ratio(), 1, 1e-9);
  EXPECT_EQ(m[0].windows(0).recent_seconds_size(), 20);
  EXPECT_NEAR(m[0].requests_per_second(), 5, 0.2);
  EXPECT_GE(m[0].rate_log_size(), 9);
  EXPECT_TRUE(s.Metrics("other", t).empty());
}

}  // namespace
}  // namespace fsched::routing
