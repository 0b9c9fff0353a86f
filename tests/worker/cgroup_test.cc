// Cgroup files on fake trees laid out like the kernel's (v1 per-controller
// hierarchies, and the v2 unified one).
#include "worker/cgroup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

fs::path FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / (name + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

TEST(CgroupsTest, ReadsAndWritesCgroupV1Files) {
  const fs::path root = FreshDir("cgv1-");
  const fs::path mem = root / "memory/fsched/c1";
  Write(mem / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  Write(root / "cpu/fsched/c1/cpu.shares", "1024\n");
  Cgroups cg(root.string());
  EXPECT_FALSE(cg.unified());
  EXPECT_EQ(cg.OomKills("/fsched/c1").value(), 2u);
  ASSERT_TRUE(cg.SetCpuShares("/fsched/c1", 4096).ok());
  EXPECT_EQ(Read(root / "cpu/fsched/c1/cpu.shares"), "4096");
  EXPECT_EQ(cg.CpuShares("/fsched/c1").value(), 4096u);
  EXPECT_FALSE(cg.OomKills("/fsched/missing").ok());
  EXPECT_FALSE(cg.SetCpuShares("/fsched/missing", 2).ok());
  // Only empty directories go (the kernel's cgroup dirs are empty of plain files).
  fs::create_directories(root / "pids/fsched/c2");
  cg.RemoveIfEmpty("/fsched/c2");
  EXPECT_FALSE(fs::exists(root / "pids/fsched/c2"));
  cg.RemoveIfEmpty("/fsched/c1");
  EXPECT_TRUE(fs::exists(root / "memory/fsched/c1"));  // still holds files in this fake tree
  fs::remove_all(root);
}

TEST(CgroupsTest, ReadsAndWritesTheUnifiedHierarchy) {
  const fs::path root = FreshDir("cgv2-");
  Write(root / "cgroup.controllers", "cpu memory pids\n");
  Write(root / "fsched/c1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  Write(root / "fsched/c1/cpu.weight", "100\n");
  Cgroups cg(root.string());
  EXPECT_TRUE(cg.unified());
  EXPECT_EQ(cg.OomKills("/fsched/c1").value(), 1u);
  EXPECT_EQ(cg.OomKills("fsched/c1").value(), 1u);  // a path without the leading slash
  ASSERT_TRUE(cg.SetCpuShares("/fsched/c1", 1024).ok());
  EXPECT_EQ(Read(root / "fsched/c1/cpu.weight"), "39");  // runc's mapping of the default shares
  fs::remove_all(root);
}

TEST(CgroupsTest, MapsSharesToWeightsLikeRunc) {
  EXPECT_EQ(Cgroups::SharesToWeight(2), 1u);
  EXPECT_EQ(Cgroups::SharesToWeight(262144), 10000u);
  EXPECT_EQ(Cgroups::SharesToWeight(1024), 39u);
  EXPECT_EQ(Cgroups::SharesToWeight(0), 1u);
  EXPECT_EQ(Cgroups::SharesToWeight(1u << 30), 10000u);
}

}  // namespace
}  // namespace fsched::worker
