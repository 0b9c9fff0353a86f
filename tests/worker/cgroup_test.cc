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

// A function's cgroup: made in each controller's tree, with the kernel's
// files (which the fake tree must supply, as the kernel would) written.
TEST(CgroupsTest, MakesAFunctionCgroupWithItsLimitsOnV1) {
  const fs::path root = FreshDir("cgfn1-");
  for (const char* c : {"memory", "cpu", "pids"}) fs::create_directories(root / c);
  Cgroups cg(root.string());
  ASSERT_TRUE(cg.Create("/fsched-functions/call-1").ok());
  for (const char* c : {"memory", "cpu", "pids"}) {
    EXPECT_TRUE(fs::is_directory(root / c / "fsched-functions/call-1")) << c;
  }
  // Without the kernel's files every write is refused, naming the file.
  absl::Status missing = cg.SetMemoryMax("/fsched-functions/call-1", 1 << 20);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("memory.limit_in_bytes"), std::string::npos);
  const fs::path mem = root / "memory/fsched-functions/call-1";
  const fs::path cpu = root / "cpu/fsched-functions/call-1";
  Write(mem / "memory.limit_in_bytes", "9223372036854771712\n");
  Write(mem / "memory.memsw.limit_in_bytes", "9223372036854771712\n");
  Write(cpu / "cpu.cfs_period_us", "100000\n");
  Write(cpu / "cpu.cfs_quota_us", "-1\n");
  Write(root / "pids/fsched-functions/call-1/cgroup.procs", "");
  Write(mem / "cgroup.procs", "");
  ASSERT_TRUE(cg.SetMemoryMax("/fsched-functions/call-1", 64 << 20).ok());
  EXPECT_EQ(Read(mem / "memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(Read(mem / "memory.memsw.limit_in_bytes"), "67108864");  // no swap past the limit
  ASSERT_TRUE(cg.SetCpuMax("/fsched-functions/call-1", 1.5).ok());
  EXPECT_EQ(Read(cpu / "cpu.cfs_quota_us"), "150000");
  ASSERT_TRUE(cg.SetCpuMax("/fsched-functions/call-1", 0.001).ok());
  EXPECT_EQ(Read(cpu / "cpu.cfs_quota_us"), "1000");  // the kernel's floor
  // cpu's cgroup.procs is missing: none stays open.
  EXPECT_FALSE(cg.OpenProcs("/fsched-functions/call-1").ok());
  Write(cpu / "cgroup.procs", "");
  absl::StatusOr<std::vector<int>> fds = cg.OpenProcs("/fsched-functions/call-1");
  ASSERT_TRUE(fds.ok()) << fds.status();
  EXPECT_EQ(fds->size(), 3u);
  for (int fd : *fds) ::close(fd);
  Write(root / "pids/fsched-functions/call-1/cgroup.procs", "12\n345\n");
  EXPECT_EQ(cg.Processes("/fsched-functions/call-1"), (std::vector<int>{12, 345}));
  fs::remove_all(root);
}

TEST(CgroupsTest, MakesAFunctionCgroupOnV2WithControllersEnabledOnTheWay) {
  const fs::path root = FreshDir("cgfn2-");
  Write(root / "cgroup.controllers", "cpu memory pids\n");
  Write(root / "cgroup.subtree_control", "");
  Cgroups cg(root.string());
  // The parent exists (the worker made it at start) with its own subtree_control.
  Write(root / "fsched-functions/cgroup.subtree_control", "");
  ASSERT_TRUE(cg.Create("/fsched-functions/call-1").ok());
  EXPECT_TRUE(fs::is_directory(root / "fsched-functions/call-1"));
  // One write per controller: the fake file keeps the last.
  EXPECT_EQ(Read(root / "cgroup.subtree_control"), "+pids");
  EXPECT_EQ(Read(root / "fsched-functions/cgroup.subtree_control"), "+pids");
  const fs::path fn = root / "fsched-functions/call-1";
  Write(fn / "memory.max", "max\n");
  Write(fn / "cpu.max", "max 100000\n");
  ASSERT_TRUE(cg.SetMemoryMax("/fsched-functions/call-1", 1 << 20).ok());
  EXPECT_EQ(Read(fn / "memory.max"), "1048576");
  ASSERT_TRUE(cg.SetCpuMax("/fsched-functions/call-1", 0.25).ok());
  EXPECT_EQ(Read(fn / "cpu.max"), "25000 100000");
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
