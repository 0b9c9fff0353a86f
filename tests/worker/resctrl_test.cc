// The resctrl allocator against a fake tree laid out like the kernel's
// /sys/fs/resctrl: what it reads, the exact files it writes, CLOSIDs running
// out, and the error paths.
#include "worker/resctrl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "tests/worker/fake_resctrl.h"
#include "tests/worker/parked_thread.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string Read(const fs::path& path) { return testing::ReadText(path.string()); }

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class ResctrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("resctrl-" + std::to_string(getpid()));
    fs::remove_all(root_);
    Tree("fffff", 4, 1, "0");
  }
  void TearDown() override { fs::remove_all(root_); }

  // A 20-way L3 on two sockets with `closids` CLOSIDs, as the kernel shows it.
  void Tree(const std::string& cbm, int closids, int min_bits, const std::string& shareable) {
    testing::MakeFakeResctrl(root_.string(), cbm, closids, min_bits, shareable);
  }

  std::string Group(uint64_t mask) { return absl::StrFormat("fsched-%d-%x", getpid(), mask); }

  std::unique_ptr<ResctrlAllocator> Allocator(ResctrlOptions options = {}) {
    absl::StatusOr<std::unique_ptr<ResctrlAllocator>> a =
        ResctrlAllocator::Create(root_.string(), std::move(options));
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? std::move(*a) : nullptr;
  }

  fs::path root_;
};

TEST_F(ResctrlTest, ReadsTheL3Description) {
  absl::StatusOr<L3Info> info = ReadL3Info(root_.string());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->cbm_mask, 0xfffffu);
  EXPECT_EQ(info->ways, 20u);
  EXPECT_EQ(info->num_closids, 4u);
  EXPECT_EQ(info->min_cbm_bits, 1u);
  EXPECT_THAT(info->cache_ids, ::testing::ElementsAre(0u, 1u));
  EXPECT_EQ(SchemataLine(0xf0, *info), "L3:0=f0;1=f0\n");
}

TEST_F(ResctrlTest, NotMountedOrNoL3IsAClearPrecondition) {
  absl::StatusOr<L3Info> info = ReadL3Info((root_ / "absent").string());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("mount -t resctrl"));
  fs::remove_all(root_ / "info" / "L3");
  fs::create_directories(root_ / "info" / "MB");
  info = ReadL3Info(root_.string());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("no L3 allocation"));
  EXPECT_FALSE(ResctrlAllocator::Create(root_.string()).ok());
}

TEST_F(ResctrlTest, OnlyContiguousMasksOfEnoughWaysAreValid) {
  L3Info info = *ReadL3Info(root_.string());
  EXPECT_TRUE(ValidateMask(0xff0, info).ok());
  EXPECT_EQ(ValidateMask(0x505, info).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ValidateMask(0x505, info).message()), HasSubstr("contiguous"));
  EXPECT_EQ(ValidateMask(0x100000, info).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateMask(0, info).code(), absl::StatusCode::kInvalidArgument);
  info.min_cbm_bits = 2;
  EXPECT_EQ(ValidateMask(0x8, info).code(), absl::StatusCode::kInvalidArgument);
}

// The n-th id above the kernel's largest pid.
pid_t UnusedPid(int n) {
  int pid_max = 0;
  EXPECT_TRUE(
      absl::SimpleAtoi(absl::StripAsciiWhitespace(Read("/proc/sys/kernel/pid_max")), &pid_max));
  return static_cast<pid_t>(pid_max + n);
}

TEST_F(ResctrlTest, EachInvocationGetsItsOwnContiguousWaysAndTheTreeIsLeftClean) {
  std::unique_ptr<ResctrlAllocator> allocator = Allocator();
  ASSERT_NE(allocator, nullptr);
  const CacheGrant a = allocator->Allocate("a", 4);
  const CacheGrant b = allocator->Allocate("b", 8);
  const CacheGrant c = allocator->Allocate("c", 2);
  EXPECT_EQ(a.mask, 0xfu);
  EXPECT_EQ(b.mask, 0xff0u);
  EXPECT_EQ(c.mask, 0x3000u);
  for (const CacheGrant& g : {a, b, c}) {
    EXPECT_FALSE(g.shared);
    EXPECT_TRUE(ValidateMask(g.mask, allocator->info()).ok());
    EXPECT_EQ(Read(root_ / g.group / "schemata"),
              absl::StrFormat("L3:0=%x;1=%x\n", g.mask, g.mask));
  }
  EXPECT_EQ(a.group, Group(0xf));
  EXPECT_EQ(allocator->free_ways(), 6u);
  // Ids no process or thread can have (above pid_max): AddTask writes every
  // thread of a live one, and under load a small number is often some thread
  // of another test's process (it once was: nine tids for 4242).
  const pid_t first = UnusedPid(1), second = UnusedPid(2);
  ASSERT_TRUE(allocator->AddTask("a", first).ok());
  ASSERT_TRUE(allocator->AddTask("a", second).ok());
  EXPECT_EQ(Read(root_ / a.group / "tasks"), absl::StrCat(first, "\n", second, "\n"));
  EXPECT_TRUE(allocator->AddTask("no-such-invocation", 1).ok());  // no group: nothing to do
  EXPECT_EQ(allocator->TasksFile("a"), (root_ / a.group / "tasks").string());
  EXPECT_EQ(allocator->TasksFile("no-such-invocation"), "");

  // More than is free: the longest free run, a smaller partition of its own.
  allocator->Release("b");
  EXPECT_FALSE(fs::exists(root_ / b.group));
  const CacheGrant d = allocator->Allocate("d", 12);
  EXPECT_EQ(d.ways, 8u);
  EXPECT_EQ(d.mask, 0xff0u);

  for (const char* id : {"a", "c", "d"}) allocator->Release(id);
  EXPECT_EQ(allocator->free_ways(), 20u);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(root_)) left.push_back(e.path().filename());
  EXPECT_THAT(left, UnorderedElementsAre("info", "schemata", "tasks"));
}

TEST_F(ResctrlTest, EveryThreadOfARunningProcessJoins) {
  std::unique_ptr<ResctrlAllocator> allocator = Allocator();
  ASSERT_NE(allocator, nullptr);
  const CacheGrant g = allocator->Allocate("a", 2);
  // A process already running with a second thread, as a persistent instance is.
  pid_t helper = 0;
  {
    testing::ParkedThread thread;
    helper = thread.tid();
    ASSERT_TRUE(allocator->AddTask("a", getpid()).ok());
  }
  const std::string tasks = Read(root_ / g.group / "tasks");
  EXPECT_THAT(tasks, HasSubstr(absl::StrFormat("%d\n", getpid())));
  EXPECT_THAT(tasks, HasSubstr(absl::StrFormat("%d\n", helper)));
}

TEST_F(ResctrlTest, WhenClosidsRunOutAnInvocationSharesTheNearestGroup) {
  std::unique_ptr<ResctrlAllocator> allocator = Allocator();  // 4 CLOSIDs: 3 groups
  ASSERT_NE(allocator, nullptr);
  allocator->Allocate("a", 2);
  allocator->Allocate("b", 6);
  allocator->Allocate("c", 10);
  const CacheGrant d = allocator->Allocate("d", 5);
  EXPECT_TRUE(d.shared);
  EXPECT_EQ(d.ways, 6u);  // the nearest group at least as large
  EXPECT_EQ(d.group, Group(0xfc));
  EXPECT_THAT(allocator->Groups()[d.group], UnorderedElementsAre("b", "d"));
  allocator->Release("b");  // d still uses the group
  EXPECT_TRUE(fs::exists(root_ / d.group));
  allocator->Release("d");
  EXPECT_FALSE(fs::exists(root_ / d.group));
  EXPECT_EQ(allocator->Groups().size(), 2u);
}

TEST_F(ResctrlTest, AvoidsWaysSharedWithDevices) {
  Tree("fffff", 8, 2, "f");  // the lowest four ways are shared with I/O
  std::unique_ptr<ResctrlAllocator> allocator = Allocator();
  ASSERT_NE(allocator, nullptr);
  EXPECT_EQ(allocator->Allocate("a", 4).mask, 0xf0u);
  EXPECT_EQ(allocator->Allocate("b", 1).mask, 0x300u);  // min_cbm_bits 2
}

TEST_F(ResctrlTest, ARefusedGroupMeansNoPartitionNotAFailedInvocation) {
  std::unique_ptr<ResctrlAllocator> allocator = Allocator();
  ASSERT_NE(allocator, nullptr);
  // The kernel refuses the schemata (here: it is a directory, so the write fails).
  fs::create_directories(root_ / Group(0xf) / "schemata");
  const CacheGrant g = allocator->Allocate("a", 4);
  EXPECT_EQ(g.ways, 0u);
  EXPECT_TRUE(g.group.empty());
  EXPECT_TRUE(allocator->AddTask("a", 7).ok());
  EXPECT_EQ(allocator->TasksFile("a"), "") << "no group: nothing to join";
  allocator->Release("a");
}

TEST_F(ResctrlTest, RemovesGroupsThatAWorkerThatDiedLeftAndOnlyThose) {
  Write(root_ / "fsched-999999999-f" / "schemata", "L3:0=f;1=f\n");
  Write(root_ / "fsched-999999999-f" / "tasks", "");
  Write(root_ / absl::StrFormat("fsched-%d-f0", getppid()) / "tasks", "");  // alive
  fs::create_directories(root_ / "someone-else");
  {
    std::unique_ptr<ResctrlAllocator> allocator = Allocator();
    ASSERT_NE(allocator, nullptr);
    EXPECT_FALSE(fs::exists(root_ / "fsched-999999999-f"));
    EXPECT_TRUE(fs::exists(root_ / absl::StrFormat("fsched-%d-f0", getppid())));
    EXPECT_TRUE(fs::exists(root_ / "someone-else"));
    EXPECT_EQ(allocator->Allocate("a", 3).group, Group(0x7));
    EXPECT_TRUE(fs::exists(root_ / Group(0x7)));
  }
  EXPECT_FALSE(fs::exists(root_ / Group(0x7)));  // removed with the allocator
}

std::string RootL3(const fs::path& root) { return testing::RootL3Line(root.string()); }

TEST_F(ResctrlTest, TheDefaultGroupIsNarrowedSoPartitionsShareTheirWaysWithNothingElse) {
  const fs::path saved = root_.string() + ".saved";
  {
    std::unique_ptr<ResctrlAllocator> allocator =
        Allocator({.default_group_ways = 2, .saved_default_file = saved.string()});
    ASSERT_NE(allocator, nullptr);
    // The two highest ways stay with the OS and unpartitioned work; the other
    // 18 are only ever in fsched's groups.
    EXPECT_EQ(RootL3(root_), "L3:0=c0000;1=c0000");
    EXPECT_EQ(allocator->default_group_mask(), 0xc0000u);
    EXPECT_EQ(allocator->pool_mask(), 0x3ffffu);
    EXPECT_EQ(allocator->total_ways(), 18u);
    EXPECT_EQ(allocator->free_ways(), 18u);
    EXPECT_EQ(Read(saved), "L3:0=fffff;1=fffff\n") << "kept for the next worker after a kill";
    // Asking for every way gives the pool, never the default group's ways.
    const CacheGrant all = allocator->Allocate("all", 20);
    EXPECT_EQ(all.mask, 0x3ffffu);
    EXPECT_EQ(allocator->free_ways(), 0u);
    allocator->Release("all");
    const CacheGrant a = allocator->Allocate("a", 16);
    const CacheGrant b = allocator->Allocate("b", 4);
    EXPECT_EQ(a.mask, 0xffffu);
    EXPECT_EQ(b.mask, 0x30000u) << "what is left of the pool, not the default group's ways";
    EXPECT_EQ(b.ways, 2u);
  }
  EXPECT_EQ(RootL3(root_), "L3:0=fffff;1=fffff") << "restored when the worker stops";
  EXPECT_FALSE(fs::exists(saved));
}

TEST_F(ResctrlTest, TheDefaultGroupKeepsTheWaysDevicesShare) {
  Tree("fffff", 8, 2, "f");  // DDIO fills the lowest four ways
  std::unique_ptr<ResctrlAllocator> allocator =
      Allocator({.default_group_ways = 1, .saved_default_file = ""});
  ASSERT_NE(allocator, nullptr);
  // Raised to min_cbm_bits; of the runs holding two shared ways, the highest.
  EXPECT_EQ(allocator->default_group_mask(), 0xcu);
  EXPECT_EQ(RootL3(root_), "L3:0=c;1=c");
  EXPECT_EQ(allocator->Allocate("a", 4).mask, 0xf0u);
  EXPECT_EQ(allocator->Allocate("b", 2).mask, 0x300u);
}

TEST_F(ResctrlTest, AWorkerAfterAKillRestoresTheRealOriginalNotTheNarrowedMask) {
  const fs::path saved = root_.string() + ".saved";
  // What a killed worker left: the default group narrowed, the original saved.
  Write(root_ / "schemata", "L3:0=c0000;1=c0000\nMB:0=100;1=100\n");
  Write(saved, "L3:0=fffff;1=ffff0\n");
  {
    std::unique_ptr<ResctrlAllocator> allocator =
        Allocator({.default_group_ways = 4, .saved_default_file = saved.string()});
    ASSERT_NE(allocator, nullptr);
    EXPECT_EQ(RootL3(root_), "L3:0=f0000;1=f0000");
    EXPECT_EQ(Read(saved), "L3:0=fffff;1=ffff0\n");
  }
  EXPECT_EQ(RootL3(root_), "L3:0=fffff;1=ffff0");
  EXPECT_FALSE(fs::exists(saved));
}

TEST_F(ResctrlTest, ADefaultGroupThatLeavesNoPoolIsAClearPrecondition) {
  absl::StatusOr<std::unique_ptr<ResctrlAllocator>> a = ResctrlAllocator::Create(
      root_.string(), {.default_group_ways = 20, .saved_default_file = ""});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("default_group_ways"));
  EXPECT_EQ(RootL3(root_), "L3:0=fffff;1=fffff") << "left as it was";
  // Nowhere to keep the original for the next worker: the mask is not touched.
  a = ResctrlAllocator::Create(
      root_.string(),
      {.default_group_ways = 2, .saved_default_file = (root_ / "no" / "such" / "dir").string()});
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("state directory"));
  EXPECT_EQ(RootL3(root_), "L3:0=fffff;1=fffff");
}

}  // namespace
}  // namespace fsched::worker
