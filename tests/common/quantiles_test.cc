#include "common/quantiles.h"

#include <gtest/gtest.h>

namespace fsched {
namespace {

TEST(QuantilesTest, InterpolatesBetweenOrderStatistics) {
  std::vector<double> v = {4, 1, 3, 2, 5};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.0), 1);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 3);
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 5);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.25), 2);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.9), 4.6);
  EXPECT_DOUBLE_EQ(Quantile({}, 0.5), 0);
}

TEST(QuantilesTest, SummaryOfOneToHundred) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  const Summary s = Summarize(v);
  EXPECT_EQ(s.count, 100u);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.p50, 50.5);
  EXPECT_DOUBLE_EQ(s.p99, 99.01);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_NEAR(s.stddev, 29.011, 1e-3);
}

TEST(QuantilesTest, SlidingWindowExpiresByTimeAndCount) {
  SlidingWindow w(absl::Seconds(10), 3);
  const absl::Time t0 = absl::UnixEpoch();
  w.Add(t0, 1);
  w.Add(t0 + absl::Seconds(5), 2);
  w.Add(t0 + absl::Seconds(8), 3);
  w.Add(t0 + absl::Seconds(9), 4);  // evicts 1 by count
  EXPECT_EQ(w.Values(), (std::vector<double>{2, 3, 4}));
  w.Expire(t0 + absl::Seconds(16));  // 2 (t=5) is older than 10 s
  EXPECT_EQ(w.Values(), (std::vector<double>{3, 4}));
}

TEST(QuantilesTest, SlidingWindowMeanFollowsAddsEvictionsAndExpiry) {
  SlidingWindow w(absl::Seconds(10), 3);
  const absl::Time t0 = absl::UnixEpoch();
  EXPECT_EQ(w.Mean(), 0);
  w.Add(t0, 1);
  w.Add(t0 + absl::Seconds(5), 2);
  EXPECT_DOUBLE_EQ(w.Mean(), 1.5);
  w.Add(t0 + absl::Seconds(8), 3);
  w.Add(t0 + absl::Seconds(9), 10);  // evicts 1 by count: 2, 3, 10
  EXPECT_DOUBLE_EQ(w.Mean(), 5);
  w.Expire(t0 + absl::Seconds(16));  // 2 expires: 3, 10
  EXPECT_DOUBLE_EQ(w.Mean(), 6.5);
  w.Expire(t0 + absl::Seconds(60));
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.Mean(), 0);
  w.Add(t0 + absl::Seconds(61), 0.1);  // a fresh sum, not 0.1 plus what rounding left
  EXPECT_EQ(w.Mean(), 0.1);
}

}  // namespace
}  // namespace fsched
