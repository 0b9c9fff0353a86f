#include "tools/fsched-bench/arrivals.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace fsched::bench {
namespace {

TEST(PoissonArrivalsTest, RateAndGapsMatchAPoissonProcess) {
  const double rate = 100;
  auto arrivals = PoissonArrivals(rate, absl::Seconds(1000), 42);
  ASSERT_TRUE(arrivals.ok()) << arrivals.status();
  // Count ~ Poisson(100,000): within 4 standard deviations (316 each).
  EXPECT_NEAR(static_cast<double>(arrivals->size()), 100000, 4 * 316);
  ASSERT_TRUE(std::is_sorted(arrivals->begin(), arrivals->end()));
  EXPECT_GT(arrivals->front(), absl::ZeroDuration());
  EXPECT_LT(arrivals->back(), absl::Seconds(1000));

  // Gaps ~ Exp(rate): Kolmogorov–Smirnov distance against 1 − e^(−rate·x),
  // below the 1 % critical value 1.63/√n.
  std::vector<double> gaps;
  double previous = 0;
  for (absl::Duration a : *arrivals) {
    const double t = absl::ToDoubleSeconds(a);
    gaps.push_back(t - previous);
    previous = t;
  }
  std::sort(gaps.begin(), gaps.end());
  const double n = static_cast<double>(gaps.size());
  double ks = 0;
  for (size_t i = 0; i < gaps.size(); ++i) {
    const double cdf = 1 - std::exp(-rate * gaps[i]);
    ks = std::max({ks, std::abs(cdf - i / n), std::abs(cdf - (i + 1) / n)});
  }
  EXPECT_LT(ks, 1.63 / std::sqrt(n)) << "gaps are not exponential";
  // Counts per second ~ Poisson(100): variance close to the mean (dispersion 1).
  std::vector<int> per_second(1000, 0);
  for (absl::Duration a : *arrivals) ++per_second[static_cast<size_t>(absl::ToInt64Seconds(a))];
  double mean = 0, var = 0;
  for (int c : per_second) mean += c;
  mean /= 1000;
  for (int c : per_second) var += (c - mean) * (c - mean);
  var /= 999;
  EXPECT_NEAR(var / mean, 1.0, 0.15);
}

TEST(PoissonArrivalsTest, TheSeedFixesTheSchedule) {
  auto a = PoissonArrivals(15, absl::Seconds(60), 7);
  auto b = PoissonArrivals(15, absl::Seconds(60), 7);
  auto c = PoissonArrivals(15, absl::Seconds(60), 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(PoissonArrivalsTest, BadParametersAreRejected) {
  EXPECT_EQ(PoissonArrivals(0, absl::Seconds(1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PoissonArrivals(-2, absl::Seconds(1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PoissonArrivals(NAN, absl::Seconds(1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PoissonArrivals(5, absl::ZeroDuration(), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PoissonArrivals(5, absl::InfiniteDuration(), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseRatesTest, ReadsTheSeedsLevelsAndNamesTheBadItem) {
  auto rates = ParseRates("2, 5,15");
  ASSERT_TRUE(rates.ok()) << rates.status();
  EXPECT_EQ(*rates, (std::vector<double>{2, 5, 15}));
  for (const char* bad : {"", "2,x", "2,-1", "0", "inf"}) {
    auto parsed = ParseRates(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseRates("2,x").status().message().find("'x'"), std::string::npos);
}

TEST(ParseUsersTest, ReadsStagesAndRefusesWhatIsNotAUserCount) {
  auto users = ParseUsers("2,5,10,20,40");
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ(*users, (std::vector<int>{2, 5, 10, 20, 40}));
  for (const char* bad : {"", "0", "2,1.5", "-3", "1001", "two"}) {
    EXPECT_EQ(ParseUsers(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseUsers("4,1001").status().message().find("'1001'"), std::string::npos);
}

}  // namespace
}  // namespace fsched::bench
