#include "common/host_stats.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fsched {
namespace {

class HostStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/fakeproc";
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    Write("loadavg", "0.50 0.25 0.10 1/123 4567\n");
    Write("meminfo", "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n");
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ + "/" + name) << text;
  }
  std::string root_;
};

TEST_F(HostStatsTest, ReadsLoadMemoryAndCpuDelta) {
  // user nice system idle iowait irq softirq steal
  Write("stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n");
  HostMonitor monitor(root_);
  auto first = monitor.Sample();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_DOUBLE_EQ(first->load1, 0.5);
  EXPECT_DOUBLE_EQ(first->load15, 0.1);
  EXPECT_EQ(first->memory_total_bytes, 1000u * 1024);
  EXPECT_DOUBLE_EQ(first->memory_percent, 75.0);
  EXPECT_DOUBLE_EQ(first->cpu_percent, 20.0);  // since boot: 200 busy of 1000

  Write("stat", "cpu  150 0 150 900 0 0 0 0 0 0\n");  // +100 busy, +100 idle
  auto second = monitor.Sample();
  ASSERT_TRUE(second.ok());
  EXPECT_DOUBLE_EQ(second->cpu_percent, 50.0);
}

TEST_F(HostStatsTest, MissingOrGarbledFilesAreNamed) {
  HostMonitor monitor(root_);
  auto missing = monitor.Sample();  // no stat file
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/stat"), std::string::npos);
  Write("stat", "intr 1 2 3\n");
  EXPECT_EQ(monitor.Sample().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fsched
