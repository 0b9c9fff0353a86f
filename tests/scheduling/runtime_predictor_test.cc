#include "scheduling/runtime_predictor.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fsched::scheduling {
namespace {

RuntimePredictor::Options Opts(size_t history = 8) {
  RuntimePredictor::Options o;
  o.history = history;
  o.default_estimate = absl::Seconds(2);
  return o;
}

TEST(RuntimePredictorTest, UnseenFunctionGetsTheDefault) {
  RuntimePredictor p(Opts());
  const auto e = p.Predict("new", 0);
  EXPECT_DOUBLE_EQ(e.tsi, 2.0);
  EXPECT_DOUBLE_EQ(e.tsu, 2.0);
  EXPECT_EQ(e.samples, 0u);
}

TEST(RuntimePredictorTest, ConstantHistory) {
  RuntimePredictor p(Opts());
  for (int i = 0; i < 5; ++i) p.Observe("f", 0, 1.0);
  const auto e = p.Predict("f", 0);
  EXPECT_DOUBLE_EQ(e.tsi, 1.0);  // mean = EWMA = trend = 1
  EXPECT_DOUBLE_EQ(e.sigma, 0.0);
  EXPECT_DOUBLE_EQ(e.tsu, 0.7);  // 0.7·tsi − 0.3·σ
}

TEST(RuntimePredictorTest, EnsembleOfMeanEwmaAndTrend) {
  RuntimePredictor p(Opts());
  for (double v : {1.0, 2.0, 3.0}) p.Observe("f", 0, v);
  // mean 2; EWMA: 1 -> 0.8·2+0.2·1 = 1.8 -> 0.8·3+0.2·1.8 = 2.76; trend at index 3: 4.
  const double tsi = (2.0 + 2.76 + 4.0) / 3;
  const auto e = p.Predict("f", 0);
  EXPECT_NEAR(e.tsi, tsi, 1e-12);
  EXPECT_NEAR(e.sigma, 1.0, 1e-12);
  EXPECT_NEAR(e.tsu, 0.7 * tsi - 0.3, 1e-12);
  EXPECT_EQ(e.samples, 3u);
}

// The median is what one rare long call does not move: the mean-like tsi
// jumps with it.
TEST(RuntimePredictorTest, TheMedianOfTheHistoryIgnoresARareLongCall) {
  RuntimePredictor p(Opts());
  for (double v : {0.2, 0.1, 0.3, 0.2}) p.Observe("f", 0, v);
  EXPECT_DOUBLE_EQ(p.Predict("f", 0).median, 0.2);  // even count: (0.2 + 0.2) / 2
  p.Observe("f", 0, 100.0);
  const auto e = p.Predict("f", 0);
  EXPECT_DOUBLE_EQ(e.median, 0.2);  // 0.1 0.2 0.2 0.3 100
  EXPECT_GT(e.tsi, 20.0);
  p.Observe("f", 0, 0.4);
  EXPECT_DOUBLE_EQ(p.Predict("f", 0).median, 0.25);  // 0.1 0.2 0.2 | 0.3 0.4 100
  EXPECT_DOUBLE_EQ(RuntimePredictor(Opts()).Predict("new", 0).median, 2.0);  // the default
}

TEST(RuntimePredictorTest, ConservativeEstimateNeverNegative) {
  RuntimePredictor p(Opts());
  for (double v : {0.01, 5.0, 0.01, 5.0, 0.01}) p.Observe("noisy", 0, v);
  EXPECT_GE(p.Predict("noisy", 0).tsu, 0.0);
}

TEST(RuntimePredictorTest, KeepsOnlyTheMostRecentSamples) {
  RuntimePredictor p(Opts(4));
  for (int i = 0; i < 10; ++i) p.Observe("f", 0, 100.0);
  for (int i = 0; i < 4; ++i) p.Observe("f", 0, 1.0);
  const auto e = p.Predict("f", 0);
  EXPECT_EQ(e.samples, 4u);
  EXPECT_NEAR(e.tsi, (1.0 + p.Export("f").histories(0).ewma_seconds() + 1.0) / 3, 1e-9);
  v1::RuntimeModel model = p.Export("f");
  ASSERT_EQ(model.histories_size(), 1);
  EXPECT_EQ(model.histories(0).seconds_size(), 4);
  EXPECT_EQ(model.histories(0).observations(), 14u);
}

TEST(RuntimePredictorTest, InputSizesAreSeparateAndScaleByPowerLaw) {
  RuntimePredictor p(Opts());
  // t = 0.002 · size^1.5, exactly, at two sizes.
  for (int i = 0; i < 3; ++i) {
    p.Observe("sort", 100, 0.002 * std::pow(100, 1.5));
    p.Observe("sort", 400, 0.002 * std::pow(400, 1.5));
  }
  EXPECT_NEAR(p.Predict("sort", 100).tsi, 2.0, 1e-9);
  EXPECT_NEAR(p.Predict("sort", 400).tsi, 16.0, 1e-9);
  const auto scaled = p.Predict("sort", 1600);
  EXPECT_NEAR(scaled.tsi, 0.002 * std::pow(1600, 1.5), 1e-6);
  EXPECT_EQ(scaled.samples, 0u);
  // One size only: its estimate stands in for every size.
  p.Observe("single", 10, 3.0);
  EXPECT_NEAR(p.Predict("single", 1000).tsi, 3.0, 1e-12);
}

TEST(RuntimePredictorTest, ExportImportKeepsPredictions) {
  RuntimePredictor a(Opts(4));
  for (double v : {0.5, 0.7, 0.6, 0.9, 1.1, 0.8}) a.Observe("f", 0, v);
  a.Observe("f", 50, 3.0);
  RuntimePredictor b(Opts(4));
  b.Import(a.Export("f"));
  EXPECT_DOUBLE_EQ(b.Predict("f", 0).tsu, a.Predict("f", 0).tsu);
  EXPECT_DOUBLE_EQ(b.Predict("f", 50).tsu, a.Predict("f", 50).tsu);
  // Learning continues where it stopped.
  a.Observe("f", 0, 2.0);
  b.Observe("f", 0, 2.0);
  EXPECT_DOUBLE_EQ(b.Predict("f", 0).tsu, a.Predict("f", 0).tsu);
}

TEST(RuntimePredictorTest, DirtyTrackingAndForgetting) {
  RuntimePredictor p(Opts());
  p.Observe("a", 0, 1);
  p.Observe("b", 0, 1);
  p.Observe("a", 0, 1);
  auto dirty = p.TakeDirty();
  std::sort(dirty.begin(), dirty.end());
  EXPECT_EQ(dirty, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(p.TakeDirty().empty());
  p.Forget("a");
  EXPECT_DOUBLE_EQ(p.Predict("a", 0).tsu, 2.0);
  p.Observe("c", 0, -1);  // impossible samples are ignored
  p.Observe("c", 0, std::nan(""));
  EXPECT_DOUBLE_EQ(p.Predict("c", 0).tsu, 2.0);
}

}  // namespace
}  // namespace fsched::scheduling
