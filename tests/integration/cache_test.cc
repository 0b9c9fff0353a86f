// Cache partitions through the whole cluster, on a fake resctrl tree: the
// worker reports its ways, the master reserves them per invocation and never
// gives out more than a worker has, the worker writes one group per running
// invocation with a contiguous mask and the invocation's process in its
// tasks, and nothing is left in the tree afterwards.
#include <bit>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/integration/cluster_fixture.h"
#include "tests/worker/fake_resctrl.h"

namespace fsched {
namespace {

namespace fs = std::filesystem;

struct Group {
  uint64_t mask = 0;
  std::string tasks;
};

class CacheClusterTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    resctrl_ = dir_ + "/resctrl";
    worker::testing::MakeFakeResctrl(resctrl_);  // 20 ways, 4 CLOSIDs
    worker_flags_ = {"--resctrl_root", resctrl_};
  }

  grpc::Status RegisterWithWays(const std::string& name, uint32_t ways) {
    v1::RegisterFunctionRequest req;
    req.mutable_spec()->set_name(name);
    for (const char* arg : {"sh", "-c", "echo $$; sleep 1.5"}) req.mutable_spec()->add_command(arg);
    req.mutable_spec()->mutable_limits()->set_cache_ways(ways);
    grpc::ClientContext ctx;
    v1::Function resp;
    return controller_->RegisterFunction(&ctx, req, &resp);
  }

  // fsched's groups in the tree now, by name.
  std::map<std::string, Group> Groups() {
    std::map<std::string, Group> out;
    for (const auto& entry : fs::directory_iterator(resctrl_)) {
      const std::string name = entry.path().filename();
      if (!name.starts_with("fsched-")) continue;
      Group g;
      const std::string schemata = worker::testing::ReadText((entry.path() / "schemata").string());
      absl::string_view line = absl::StripAsciiWhitespace(schemata);
      // "L3:0=<mask>;1=<mask>"
      absl::string_view first = line.substr(line.find('=') + 1);
      first = first.substr(0, first.find(';'));
      EXPECT_TRUE(absl::SimpleHexAtoi(first, &g.mask)) << line;
      EXPECT_EQ(line, absl::StrCat("L3:0=", first, ";1=", first)) << "one mask on every cache";
      g.tasks = worker::testing::ReadText((entry.path() / "tasks").string());
      out[name] = g;
    }
    return out;
  }

  // Runs the functions at once; the groups seen while all of them ran.
  std::map<std::string, Group> RunTogether(const std::vector<std::string>& functions,
                                           std::vector<v1::InvocationResult>* results,
                                           uint32_t* reserved_while_running) {
    results->assign(functions.size(), {});
    std::vector<std::thread> calls;
    for (size_t i = 0; i < functions.size(); ++i) {
      calls.emplace_back([&, i] { EXPECT_TRUE(Invoke(functions[i], "", &(*results)[i]).ok()); });
    }
    std::map<std::string, Group> seen;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      seen = Groups();
      bool all_tasks = seen.size() == functions.size();
      for (const auto& [name, g] : seen) all_tasks &= !g.tasks.empty();
      if (all_tasks) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    // The master's account catches up with the heartbeat that follows.
    absl::SleepFor(absl::Milliseconds(300));
    *reserved_while_running = ListWorkers()[0].cache_ways_reserved();
    for (std::thread& t : calls) t.join();
    return seen;
  }

  std::string RootL3() { return worker::testing::RootL3Line(resctrl_); }

  std::string resctrl_;
};

TEST_F(CacheClusterTest, EachInvocationGetsItsWaysNeverMoreThanTheCacheAndTheTreeIsLeftClean) {
  StartMaster();
  Process* worker = StartWorker("box", 4);
  ASSERT_NE(worker, nullptr);
  WaitForReady({"box"});
  v1::WorkerInfo info = ListWorkers()[0];
  EXPECT_TRUE(info.capacity().cat_supported());
  // worker.default_group_ways (2) stay with the OS: the highest two ways.
  EXPECT_EQ(info.capacity().cache_ways(), 18u);
  EXPECT_EQ(RootL3(), "L3:0=c0000;1=c0000");
  ASSERT_TRUE(RegisterWithWays("small", 4).ok());
  ASSERT_TRUE(RegisterWithWays("large", 8).ok());
  ASSERT_TRUE(RegisterWithWays("tiny", 2).ok());
  ASSERT_TRUE(RegisterWithWays("big", 8).ok());

  std::vector<v1::InvocationResult> results;
  uint32_t reserved = 0;
  std::map<std::string, Group> groups =
      RunTogether({"small", "large", "tiny"}, &results, &reserved);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(reserved, 14u);
  uint64_t all = 0;
  std::multiset<int> widths;
  for (const auto& [name, g] : groups) {
    const uint64_t low = g.mask >> std::countr_zero(g.mask);
    EXPECT_EQ(low & (low + 1), 0u) << name << ": not contiguous";
    EXPECT_EQ(all & g.mask, 0u) << name << ": overlaps another partition";
    EXPECT_EQ(g.mask & 0xc0000, 0u) << name << ": overlaps the default group";
    all |= g.mask;
    widths.insert(std::popcount(g.mask));
  }
  EXPECT_EQ(widths, (std::multiset<int>{2, 4, 8}));
  for (const v1::InvocationResult& r : results) {
    ASSERT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
    // The invocation's own process joined the group with its number of ways.
    const std::string pid(absl::StripAsciiWhitespace(r.stdout()));
    bool found = false;
    for (const auto& [name, g] : groups) {
      if (absl::StrContains(g.tasks, pid + "\n")) {
        found = true;
        EXPECT_EQ(static_cast<uint32_t>(std::popcount(g.mask)), r.cache_ways()) << r.function();
      }
    }
    EXPECT_TRUE(found) << r.function() << " (pid " << pid << ") is in no group";
  }
  EXPECT_EQ(Groups().size(), 0u);

  // 8 + 8 + 8 > 18: the third gets what is left, not an over-committed cache.
  groups = RunTogether({"big", "big", "big"}, &results, &reserved);
  EXPECT_LE(reserved, 18u);
  std::multiset<uint32_t> given;
  for (const v1::InvocationResult& r : results) given.insert(r.cache_ways());
  EXPECT_EQ(given, (std::multiset<uint32_t>{2, 8, 8}));
  EXPECT_EQ(Groups().size(), 0u);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (ListWorkers()[0].cache_ways_reserved() != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(ListWorkers()[0].cache_ways_reserved(), 0u);

  // A worker that stops gives the default group its ways back.
  worker->Signal(SIGTERM);
  ASSERT_TRUE(worker->Wait(absl::Seconds(15)).has_value());
  EXPECT_EQ(RootL3(), "L3:0=fffff;1=fffff");
}

TEST_F(CacheClusterTest, AfterAKilledWorkerTheNextOneRestoresTheDefaultGroupsOriginalMask) {
  StartMaster();
  Process* worker = StartWorker("box", 2);
  ASSERT_NE(worker, nullptr);
  WaitForReady({"box"});
  EXPECT_EQ(RootL3(), "L3:0=c0000;1=c0000");
  worker->Signal(SIGKILL);
  ASSERT_TRUE(worker->Wait(absl::Seconds(15)).has_value());
  EXPECT_EQ(RootL3(), "L3:0=c0000;1=c0000") << "nobody restored it";
  worker = StartWorker("box", 2);
  ASSERT_NE(worker, nullptr);
  WaitForReady({"box"});
  EXPECT_EQ(ListWorkers()[0].capacity().cache_ways(), 18u);
  worker->Signal(SIGTERM);
  ASSERT_TRUE(worker->Wait(absl::Seconds(15)).has_value());
  EXPECT_EQ(RootL3(), "L3:0=fffff;1=fffff") << "the original, not the mask the killed one left";
}

TEST_F(CacheClusterTest, AWorkerWithoutResctrlSaysWhyAndStillRunsEverything) {
  worker_flags_ = {"--resctrl_root", dir_ + "/no-resctrl"};
  StartMaster();
  ASSERT_NE(StartWorker("plain", 2), nullptr);
  WaitForReady({"plain"});
  const v1::WorkerInfo info = ListWorkers()[0];
  EXPECT_FALSE(info.capacity().cat_supported());
  EXPECT_THAT(info.capacity().cat_unsupported_reason(), HasSubstr("not mounted"));
  ASSERT_TRUE(RegisterWithWays("wants-cache", 6).ok());
  v1::InvocationResult r;
  ASSERT_TRUE(Invoke("wants-cache", "", &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_EQ(r.cache_ways(), 0u);
}

}  // namespace
}  // namespace fsched
