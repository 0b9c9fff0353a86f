// ALPS's learned slices: the formula against hand-computed values, what the
// worker learns of a function, and slices set on real threads of this process
// (where the kernel takes them: EEVDF, Linux 6.12+).
#include "worker/cpu_slice.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "tests/worker/parked_thread.h"

namespace fsched::worker {
namespace {

using absl::Milliseconds;

TEST(LearnedSliceTest, MatchesTheFormulaWithinTheKernelsBounds) {
  const CpuSliceOptions o;  // α 1, β 1, cap 200 ms, busy above 50 %
  // min(30·1, 200) − 5 = 25 ms.
  EXPECT_EQ(LearnedSlice(0.030, 0.005, 0.2, o), Milliseconds(25));
  // min(300, 200) − 150 = 50 ms: the cap, then the variability.
  EXPECT_EQ(LearnedSlice(0.300, 0.150, 0.2, o), Milliseconds(50));
  // min(1000, 200) − 100 = 100 ms, the kernel's largest.
  EXPECT_EQ(LearnedSlice(1.0, 0.1, 0.2, o), Milliseconds(100));
  EXPECT_EQ(LearnedSlice(5.0, 0.0, 0.0, o), kMaxCpuSlice);
  // Below the kernel's smallest, and a σ larger than the mean.
  EXPECT_EQ(LearnedSlice(0.00005, 0, 0.2, o), kMinCpuSlice);
  EXPECT_EQ(LearnedSlice(0.010, 0.020, 0.2, o), kMinCpuSlice);
  // Busier than half the CPU: 25 ms × 0.5 / 0.8, and halved when saturated.
  EXPECT_EQ(LearnedSlice(0.030, 0.005, 0.8, o), absl::Microseconds(15625));
  EXPECT_EQ(LearnedSlice(0.030, 0.005, 1.0, o), absl::Microseconds(12500));
  EXPECT_EQ(LearnedSlice(0.030, 0.005, 0.5, o), Milliseconds(25)) << "at 50 % not yet";
  CpuSliceOptions tuned;
  tuned.alpha = 0.5;
  tuned.beta = 2;
  // min(40·0.5, 200) − 2·5 = 10 ms.
  EXPECT_EQ(LearnedSlice(0.040, 0.005, 0, tuned), Milliseconds(10));
}

TEST(CpuSlicesTest, LearnsEachFunctionsRunsAndStartsFromThePrediction) {
  CpuSlices slices;
  EXPECT_EQ(slices.SliceFor("f", 0), absl::ZeroDuration()) << "nothing to go on";
  EXPECT_EQ(slices.SliceFor("f", 0.040), Milliseconds(40)) << "the master's prediction";
  slices.Observe("f", Milliseconds(10));
  EXPECT_EQ(slices.SliceFor("f", 0.040), Milliseconds(10)) << "its own run wins";
  slices.Observe("f", Milliseconds(20));
  // mean 10 + 0.2·10 = 12 ms; variance 0.8·(10·2) = 16 ms², σ 4 ms: 12 − 4 = 8 ms.
  const std::optional<CpuSlices::Stats> stats = slices.StatsOf("f");
  ASSERT_TRUE(stats.has_value());
  EXPECT_NEAR(stats->mean_s, 0.012, 1e-12);
  EXPECT_NEAR(stats->stddev_s, 0.004, 1e-12);
  EXPECT_EQ(stats->runs, 2u);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(slices.SliceFor("f", 0)), 8, 1e-6);
  EXPECT_FALSE(slices.StatsOf("g").has_value());
  slices.set_cpu_share(1.0);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(slices.SliceFor("f", 0)), 4, 1e-6);
}

TEST(CpuSlicesTest, EveryThreadOfAProcessGetsItsSliceAndLaterThreadsInheritIt) {
  if (!KernelTakesCpuSlices()) GTEST_SKIP() << "this kernel takes no per-task slice";
  std::optional<testing::ParkedThread> before(std::in_place);
  const pid_t helper = before->tid();
  const absl::StatusOr<absl::Duration> original = ThreadCpuSlice(0);
  ASSERT_TRUE(original.ok()) << original.status();
  ASSERT_TRUE(SetProcessCpuSlice(getpid(), Milliseconds(3)).ok());
  EXPECT_EQ(*ThreadCpuSlice(0), Milliseconds(3));
  EXPECT_EQ(*ThreadCpuSlice(helper), Milliseconds(3));
  absl::Duration inherited;
  std::thread after([&] { inherited = *ThreadCpuSlice(0); });
  after.join();
  EXPECT_EQ(inherited, Milliseconds(3));
  before.reset();
  EXPECT_EQ(SetThreadCpuSlice(0, absl::ToInt64Nanoseconds(*original)), 0);
  EXPECT_EQ(SetProcessCpuSlice(999999999, Milliseconds(3)).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fsched::worker
