#include "worker/cpu_priority.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

TEST(PrioritySharesTest, ShortestRemainingGetsTheMostCpu) {
  const CpuPriorityOptions options;
  const std::vector<uint64_t> shares = PriorityShares(
      {{"/a", 10.0, 0.0}, {"/b", 0.5, 0.0}, {"/c", 2.0, 0.0}, {"/d", 0.0, 3.0}}, options);
  EXPECT_EQ(shares, (std::vector<uint64_t>{2048, 8192, 4096, 1024}));  // d: no prediction
}

TEST(PrioritySharesTest, EqualRemainingSharesARankAndTheTailHasAFloor) {
  CpuPriorityOptions options;
  std::vector<RunningFunction> running = {{"/a", 1.0, 0}, {"/b", 1.02, 0}};
  for (int i = 0; i < 8; ++i) running.push_back({"/x" + std::to_string(i), 10.0 * (i + 2), 0});
  const std::vector<uint64_t> shares = PriorityShares(running, options);
  EXPECT_EQ(shares[0], 8192u);
  EXPECT_EQ(shares[1], 8192u);  // within 5 %: the same rank
  EXPECT_EQ(shares[2], 4096u);
  EXPECT_EQ(shares.back(), options.min_shares);
}

TEST(PrioritySharesTest, AgingLetsALongRunningFunctionOvertakeNewShortOnes) {
  const CpuPriorityOptions options;  // aging 0.1/s
  // Fresh, a 20 s function ranks behind a 3 s one; after 15 s of running
  // (5 s left, aged by 1 + 1.5) it ranks ahead of a fresh 3 s one.
  EXPECT_LT(PriorityShares({{"/long", 20, 0}, {"/short", 3, 0}}, options)[0],
            PriorityShares({{"/long", 20, 0}, {"/short", 3, 0}}, options)[1]);
  const std::vector<uint64_t> aged = PriorityShares({{"/long", 20, 15}, {"/short", 3, 0}}, options);
  EXPECT_GT(aged[0], aged[1]);
  // Past its prediction, a function is not treated as finished.
  const std::vector<uint64_t> overrun =
      PriorityShares({{"/late", 1, 5}, {"/new", 0.01, 0}}, options);
  EXPECT_LT(overrun[0], overrun[1]);
}

TEST(CpuPriorityLoopTest, WritesTheSharesIntoEachContainersCgroup) {
  const fs::path root = fs::path(::testing::TempDir()) / ("cpu-prio-" + std::to_string(getpid()));
  fs::remove_all(root);
  for (const char* c : {"c1", "c2"}) {
    fs::create_directories(root / "cpu/fsched" / c);
    std::ofstream(root / "cpu/fsched" / c / "cpu.shares") << "1024\n";
  }
  const Cgroups cgroups(root.string());
  std::vector<RunningFunction> running = {{"/fsched/c1", 5, 0}, {"/fsched/c2", 1, 0}};
  CpuPriorityOptions options;
  options.tick = absl::Hours(1);  // only the explicit rounds below
  CpuPriorityLoop loop(options, &cgroups, [&running] { return running; });
  loop.Apply();
  EXPECT_EQ(cgroups.CpuShares("/fsched/c1").value(), 4096u);
  EXPECT_EQ(cgroups.CpuShares("/fsched/c2").value(), 8192u);
  running = {{"/fsched/c1", 5, 0}, {"/fsched/gone", 1, 0}};  // c2 ended; its cgroup is gone
  loop.Apply();  // a vanished cgroup is skipped without disturbing the others
  EXPECT_EQ(cgroups.CpuShares("/fsched/c1").value(), 4096u);
  fs::remove_all(root);
}

}  // namespace
}  // namespace fsched::worker
