// The LLC predictor: the curve fit recovers known parameters from noisy
// benchmarks, the allocation matches the analytic answer, and predictions
// fall back as DESIGN.md says (nearest size, nearest profile, not ready).
#include "scheduling/llc_predictor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace fsched::scheduling {
namespace {

using ::testing::HasSubstr;

std::vector<std::pair<uint32_t, double>> Curve(double a, double b, uint32_t n, double noise,
                                               uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> jitter(0, noise);
  std::vector<std::pair<uint32_t, double>> points;
  for (uint32_t x = 1; x <= n; ++x) {
    points.emplace_back(x, (a + b / (1 + std::sqrt(x - 1.0))) * (1 + jitter(rng)));
  }
  return points;
}

// The analytic answer: −t'(x) = g·t(1) at s(1+s)² = b / (2g(a+b)), s = √(x−1),
// solved by bisection; the allocation is the next whole number of ways.
uint32_t AnalyticWays(double a, double b, double g, uint32_t n) {
  const double k = b / (2 * g * (a + b));
  double lo = 0, hi = 100;
  for (int i = 0; i < 200; ++i) {
    const double s = (lo + hi) / 2;
    (s * (1 + s) * (1 + s) < k ? lo : hi) = s;
  }
  const double x = 1 + lo * lo;
  return std::clamp<uint32_t>(static_cast<uint32_t>(std::ceil(x - 1e-9)), 1, n);
}

TEST(LlcFitTest, RecoversKnownParametersFromNoisyCurvesAndAllocatesTheAnalyticWays) {
  struct Case {
    double a, b;
    uint32_t free_ways;
  };
  for (const Case& c :
       {Case{0.5, 2.0, 20}, Case{1.0, 0.3, 20}, Case{0.2, 5.0, 60}, Case{2.0, 8.0, 10},
        Case{0.05, 0.4, 200}, Case{0.1, 3.0, 40}, Case{0.3, 4.0, 100}}) {
    SCOPED_TRACE(testing::Message() << "a=" << c.a << " b=" << c.b << " free=" << c.free_ways);
    absl::StatusOr<LlcFit> fit = FitLlcCurve(Curve(c.a, c.b, 10, 0.003, 7));
    ASSERT_TRUE(fit.ok()) << fit.status();
    EXPECT_NEAR(fit->a, c.a, 0.02 * (c.a + c.b));
    EXPECT_NEAR(fit->b, c.b, 0.03 * c.b);
    const double g = Generosity(c.free_ways);
    const uint32_t expected = AnalyticWays(c.a, c.b, g, 10);
    EXPECT_EQ(AllocateWays(LlcFit{c.a, c.b}, g, 10), expected);
    EXPECT_EQ(AllocateWays(*fit, g, 10), expected);
  }
}

TEST(LlcFitTest, GenerosityGrowsWithFreeCacheAndInsensitiveFunctionsGetOneWay) {
  EXPECT_DOUBLE_EQ(Generosity(0), 0.1);
  EXPECT_DOUBLE_EQ(Generosity(20), 0.1);
  EXPECT_DOUBLE_EQ(Generosity(100), 0.02);
  const LlcFit fit{0.5, 2.0};
  EXPECT_LT(AllocateWays(fit, Generosity(10), 20), AllocateWays(fit, Generosity(200), 20));
  EXPECT_EQ(AllocateWays(LlcFit{1.0, 0.0}, 0.1, 10), 1u);
  EXPECT_EQ(AllocateWays(LlcFit{1.0, -0.2}, 0.1, 10), 1u);
  EXPECT_EQ(AllocateWays(LlcFit{0.01, 50}, 0.001, 6), 6u);  // capped
  EXPECT_EQ(AllocateWays(fit, 0.1, 0), 0u);                 // no cache to give
}

// The same curve shape in seconds or in twentieths of them gets the same ways:
// the stopping rule compares the gain with a fraction of t(1), not with seconds
// (seed 003's rule gives the 10 s curve 10 ways and the 0.5 s one 3 at g = 0.1).
TEST(LlcFitTest, TheAllocationDoesNotDependOnTheTimeUnit) {
  const LlcFit matrix{0.5 * 0.449, 0.5 * 2.951};  // 3.4x slower on one way than on twenty
  for (const double g : {0.1, 0.02, 0.01}) {
    const LlcFit longer{matrix.a * 20, matrix.b * 20};
    EXPECT_EQ(AllocateWays(matrix, g, 10), AllocateWays(longer, g, 10)) << "g " << g;
  }
  EXPECT_EQ(AllocateWays(matrix, 0.1, 10), 3u);
  EXPECT_EQ(AllocateWays(matrix, 0.02, 10), 6u);
}

TEST(LlcFitTest, RefusesPointsItCannotFit) {
  EXPECT_EQ(FitLlcCurve({{3, 1.0}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitLlcCurve({{2, 1.0}, {2, 1.1}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitLlcCurve({{0, 1.0}, {2, 1.1}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitLlcCurve({{1, -1.0}, {2, 1.1}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LlcPredictorTest, BenchmarkedThenScaledThenBorrowedThenNotReady) {
  LlcPredictor p;
  EXPECT_FALSE(p.CanPredict("matrix"));
  absl::StatusOr<LlcPredictor::Prediction> none = p.Predict("matrix", 100, 20, 10);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("benchmark it first"));

  ASSERT_TRUE(p.AddBenchmark("matrix", 100, Curve(0.5, 2.0, 10, 0, 1)).ok());
  ASSERT_TRUE(p.AddBenchmark("stream", 100, Curve(1.0, 0.1, 10, 0, 1)).ok());
  EXPECT_TRUE(p.CanPredict("matrix"));
  absl::StatusOr<LlcPredictor::Prediction> exact = p.Predict("matrix", 100, 20, 10);
  ASSERT_TRUE(exact.ok());
  EXPECT_TRUE(exact->benchmarked);
  EXPECT_EQ(exact->ways, AnalyticWays(0.5, 2.0, 0.1, 10));
  EXPECT_NEAR(exact->predicted_seconds, 0.5 + 2.0 / (1 + std::sqrt(exact->ways - 1.0)), 1e-9);

  // Another size: the nearest benchmarked one, times scaled by the size ratio.
  ASSERT_TRUE(p.AddBenchmark("matrix", 1000, Curve(5.0, 20.0, 10, 0, 1)).ok());
  absl::StatusOr<LlcPredictor::Prediction> scaled = p.Predict("matrix", 200, 20, 10);
  ASSERT_TRUE(scaled.ok());
  EXPECT_FALSE(scaled->benchmarked);
  EXPECT_THAT(scaled->basis, HasSubstr("input size 100"));
  EXPECT_NEAR(scaled->predicted_seconds, 2 * exact->predicted_seconds, 1e-9);
  EXPECT_THAT(p.BenchmarkedSizes("matrix"), ::testing::ElementsAre(100, 1000));

  // Never benchmarked, but observed: the profile whose curve fits the observations.
  EXPECT_FALSE(p.CanPredict("fresh"));
  p.Observe("fresh", 2, 1.0 + 0.1 / 2);
  p.Observe("fresh", 8, 1.0 + 0.1 / (1 + std::sqrt(7.0)));
  EXPECT_TRUE(p.CanPredict("fresh"));
  absl::StatusOr<LlcPredictor::Prediction> borrowed = p.Predict("fresh", 0, 20, 10);
  ASSERT_TRUE(borrowed.ok()) << borrowed.status();
  EXPECT_FALSE(borrowed->benchmarked);
  EXPECT_THAT(borrowed->basis, HasSubstr("nearest profile: stream"));
  EXPECT_EQ(borrowed->ways, AnalyticWays(1.0, 0.1, 0.1, 10));

  // Profiles survive an export and import (the master persists them).
  LlcPredictor restored;
  for (const v1::LlcProfile& profile : p.Profiles()) restored.Import(profile);
  absl::StatusOr<LlcPredictor::Prediction> again = restored.Predict("matrix", 100, 20, 10);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ways, exact->ways);
}

}  // namespace
}  // namespace fsched::scheduling
