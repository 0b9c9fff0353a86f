#include <gtest/gtest.h>

#include <cmath>

#include "tools/fsched-bench/arrivals.h"
#include "tools/fsched-bench/plan.h"

namespace fsched::bench {
namespace {

const std::string kData = std::string(FSCHED_SOURCE_DIR) + "/data";

TEST(PoissonLevelTest, KeepsTheSeedsArrivalsAndSpreadsFunctionsEvenly) {
  auto level = PoissonLevel(200, absl::Seconds(100), 3, 4);
  ASSERT_TRUE(level.ok()) << level.status();
  auto arrivals = PoissonArrivals(200, absl::Seconds(100), 3);
  ASSERT_EQ(level->calls.size(), arrivals->size());
  for (size_t i = 0; i < arrivals->size(); ++i) ASSERT_EQ(level->calls[i].at, (*arrivals)[i]);
  EXPECT_EQ(level->shape, "Poisson 200 req/s");
  EXPECT_EQ(level->offered_rps, 200);
  // Each of 4 functions ~ Binomial(n, 1/4): chi-square with 3 degrees of
  // freedom under its 0.1 % critical value 16.27.
  std::vector<double> counts(4, 0);
  for (const ScheduledCall& c : level->calls) {
    ASSERT_LT(c.function, 4u);
    ++counts[c.function];
    EXPECT_LT(c.trace_duration, 0);
  }
  const double expected = static_cast<double>(level->calls.size()) / 4;
  double chi2 = 0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 16.27);
  // Same seed, same plan; one function, always function 0.
  auto again = PoissonLevel(200, absl::Seconds(100), 3, 4);
  for (size_t i = 0; i < level->calls.size(); ++i) {
    ASSERT_EQ(level->calls[i].function, again->calls[i].function);
  }
  auto single = PoissonLevel(50, absl::Seconds(10), 3, 1);
  for (const ScheduledCall& c : single->calls) ASSERT_EQ(c.function, 0u);
  EXPECT_EQ(PoissonLevel(50, absl::Seconds(10), 3, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A fixed list of arrivals standing in for a trace.
class ListSource final : public workload::ArrivalSource {
 public:
  explicit ListSource(std::vector<workload::Arrival> arrivals) : arrivals_(std::move(arrivals)) {}
  bool Next(workload::Arrival* a) override {
    if (next_ == arrivals_.size()) return false;
    *a = arrivals_[next_++];
    return true;
  }
  const std::vector<std::string>& functions() const override { return names_; }

 private:
  std::vector<workload::Arrival> arrivals_;
  std::vector<std::string> names_{"t0", "t1", "t2"};
  size_t next_ = 0;
};

TEST(TraceLevelTest, MapsTraceFunctionsOntoRegisteredOnesWithinTheWindow) {
  ListSource source({{0.5, 0.1, 0}, {1.0, 2.0, 1}, {1.5, 0.3, 2}, {2.5, 1.0, 1}, {9.0, 1.0, 0}});
  auto level = TraceLevel(source, "trace t", absl::Seconds(3), 100, 2);
  ASSERT_TRUE(level.ok()) << level.status();
  ASSERT_EQ(level->calls.size(), 4u);  // 9.0 is outside the window
  EXPECT_EQ(level->calls[1].at, absl::Seconds(1));
  EXPECT_EQ(level->calls[1].function, 1u);
  EXPECT_EQ(level->calls[2].function, 0u);  // trace function 2 -> registered 2 mod 2
  EXPECT_EQ(level->calls[2].trace_function, "t2");
  EXPECT_DOUBLE_EQ(level->calls[1].trace_duration, 2.0);
  EXPECT_EQ(level->length, absl::Seconds(3));
  EXPECT_NEAR(level->offered_rps, 4.0 / 3, 1e-9);
}

TEST(TraceLevelTest, ACallCapEndsTheScheduleAtTheLastCall) {
  ListSource source({{0.5, 0.1, 0}, {1.0, 2.0, 1}, {1.5, 0.3, 2}});
  auto level = TraceLevel(source, "trace t", absl::Seconds(60), 2, 1);
  ASSERT_TRUE(level.ok());
  ASSERT_EQ(level->calls.size(), 2u);
  EXPECT_EQ(level->length, absl::Seconds(1));
}

TEST(TraceLevelTest, AnEmptyWindowOrBadArgumentsAreRefused) {
  ListSource late({{100, 1, 0}});
  auto empty = TraceLevel(late, "t", absl::Seconds(10), 100, 1);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("no invocation in its first 10s"), std::string::npos);
  ListSource any({{1, 1, 0}});
  EXPECT_EQ(TraceLevel(any, "t", absl::ZeroDuration(), 100, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TraceLevel(any, "t", absl::Seconds(10), 100, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TraceLevelTest, ReplaysTheVendoredAzureTraceScaled) {
  auto trace = workload::LoadTrace(kData + "/azure2019-10fn-day");
  ASSERT_TRUE(trace.ok()) << trace.status();
  // The 2019 sources spread each minute's calls inside it: scaled by 0.5,
  // the first 60 s hold the first two minutes' invocations.
  auto source = trace->Source(0.5, 1);
  auto level = TraceLevel(*source, "trace", absl::Seconds(60), 1000000, 3);
  ASSERT_TRUE(level.ok()) << level.status();
  uint64_t first_two_minutes = 0;
  for (const auto& f : trace->trace2019.functions) {
    first_two_minutes += f.per_minute[0] + f.per_minute[1];
  }
  EXPECT_EQ(level->calls.size(), first_two_minutes);
  for (const ScheduledCall& c : level->calls) {
    ASSERT_LT(c.function, 3u);
    ASSERT_GE(c.trace_duration, workload::kMinDurationSeconds);
    ASSERT_LT(c.at, absl::Seconds(60));
  }
}

TEST(FillTemplateTest, ReplacesEveryPlaceholder) {
  EXPECT_EQ(FillTemplate("plain", 3, "f", 1), "plain");
  EXPECT_EQ(FillTemplate("{function}#{i} {i}", 7, "sha", -1), "sha#7 7");
  EXPECT_EQ(FillTemplate("{duration_s}s = {duration_ms}ms", 0, "f", 0.25), "0.250000s = 250.000ms");
  EXPECT_EQ(FillTemplate("{duration_ms}", 0, "f", -1), "0.000");
}

}  // namespace
}  // namespace fsched::bench
