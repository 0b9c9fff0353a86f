// Every placement policy on in-memory worker tables: the choice, ties, the 90 %
// memory rule, a single candidate, and no eligible worker.
#include <gtest/gtest.h>

#include <map>

#include "scheduling/cache_fit_policy.h"
#include "scheduling/load_policies.h"
#include "scheduling/placement_policy.h"
#include "scheduling/policy_factory.h"
#include "scheduling/response_time_policy.h"
#include "scheduling/warm_first_policy.h"

namespace fsched::scheduling {
namespace {

using Kind = PlacementResult::Kind;

WorkerView W(const std::string& id, uint32_t slots, uint32_t free_slots, double cpu = 0,
             double memory = 10) {
  WorkerView w;
  w.id = id;
  w.slots = slots;
  w.free_slots = free_slots;
  w.cpu_percent = cpu;
  w.memory_percent = memory;
  w.runtimes = {v1::RUNTIME_KIND_PROCESS};
  return w;
}

PlacementRequest Req(const std::string& function = "f", uint32_t cache_ways = 0) {
  PlacementRequest r;
  r.function = function;
  r.cache_ways = cache_ways;
  return r;
}

std::string Chosen(PlacementPolicy& policy, const std::vector<WorkerView>& workers,
                   const PlacementRequest& request = Req()) {
  PlacementResult r = policy.Place(request, workers);
  return r.kind == Kind::kPlaced ? r.worker_id : "<none>";
}

// The rules every policy shares.
class EveryPolicyTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<PlacementPolicy> Make() { return std::move(*MakePlacementPolicy(GetParam(), 7)); }
};

TEST_P(EveryPolicyTest, SingleCandidateIsChosen) {
  auto policy = Make();
  EXPECT_EQ(Chosen(*policy, {W("only", 4, 2)}), "only");
}

TEST_P(EveryPolicyTest, MemoryAtNinetyPercentIsSkipped) {
  auto policy = Make();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Chosen(*policy, {W("full", 4, 4, 0, 90.0), W("ok", 4, 1, 99, 89.9)}), "ok");
  }
  PlacementResult r = policy->Place(Req(), std::vector<WorkerView>{W("full", 4, 4, 0, 95)});
  EXPECT_EQ(r.kind, Kind::kRetryLater);
  EXPECT_NE(r.reason.find("90"), std::string::npos);
}

TEST_P(EveryPolicyTest, NoEligibleWorker) {
  auto policy = Make();
  EXPECT_EQ(policy->Place(Req(), std::vector<WorkerView>{}).kind, Kind::kInfeasible);
  EXPECT_EQ(policy->Place(Req(), std::vector<WorkerView>{W("a", 2, 0), W("b", 1, 0)}).kind,
            Kind::kRetryLater);
  PlacementRequest runc = Req();
  runc.runtime = v1::RUNTIME_KIND_RUNC;
  EXPECT_EQ(policy->Place(runc, std::vector<WorkerView>{W("a", 2, 2)}).kind, Kind::kInfeasible);
}

TEST_P(EveryPolicyTest, NeverChoosesAFullWorker) {
  auto policy = Make();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Chosen(*policy, {W("a", 2, 0), W("b", 2, 1), W("c", 3, 0)}), "b");
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, EveryPolicyTest,
                         ::testing::Values("round-robin", "least-loaded", "most-loaded",
                                           "response-time", "cache-fit", "warm-first",
                                           "warm-first/most-loaded"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(LoadPoliciesTest, LeastLoadedSpreadsMostLoadedPacks) {
  LeastLoadedPolicy least;
  MostLoadedPolicy most;
  std::vector<WorkerView> workers = {W("a", 4, 1), W("b", 4, 3), W("c", 2, 1)};
  EXPECT_EQ(Chosen(least, workers), "b");  // 25 % used
  EXPECT_EQ(Chosen(most, workers), "a");   // 75 % used and still a free slot
}

TEST(LoadPoliciesTest, TiesBreakOnCpuThenId) {
  LeastLoadedPolicy least;
  MostLoadedPolicy most;
  std::vector<WorkerView> workers = {W("b", 4, 2, 30), W("a", 4, 2, 30), W("c", 4, 2, 10)};
  EXPECT_EQ(Chosen(least, workers), "c");
  EXPECT_EQ(Chosen(most, workers), "a");
  std::vector<WorkerView> identical = {W("z", 2, 1), W("y", 2, 1)};
  EXPECT_EQ(Chosen(least, identical), "y");
  EXPECT_EQ(Chosen(most, identical), "y");
}

TEST(ResponseTimePolicyTest, UnseenWorkersFirstThenInverseResponseTime) {
  ResponseTimePolicy policy(42);
  WorkerView fast = W("fast", 100, 100), slow = W("slow", 100, 100), fresh = W("fresh", 100, 100);
  fast.response_samples = slow.response_samples = 10;
  fast.mean_response_seconds = 0.1;
  slow.mean_response_seconds = 0.3;
  EXPECT_EQ(Chosen(policy, {fast, slow, fresh}), "fresh");
  std::map<std::string, int> counts;
  for (int i = 0; i < 20000; ++i) ++counts[Chosen(policy, {fast, slow})];
  // p(fast) = (1/0.1) / (1/0.1 + 1/0.3) = 0.75
  EXPECT_NEAR(counts["fast"] / 20000.0, 0.75, 0.02);
  EXPECT_NEAR(counts["slow"] / 20000.0, 0.25, 0.02);
}

TEST(ResponseTimePolicyTest, SameSeedSameChoices) {
  ResponseTimePolicy a(9), b(9);
  WorkerView x = W("x", 4, 4), y = W("y", 4, 4);
  x.response_samples = y.response_samples = 1;
  x.mean_response_seconds = 0.2;
  y.mean_response_seconds = 0.2;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Chosen(a, {x, y}), Chosen(b, {x, y}));
}

TEST(CacheFitPolicyTest, BestFitElseLargest) {
  CacheFitPolicy policy;
  WorkerView a = W("a", 2, 2), b = W("b", 2, 2), c = W("c", 2, 2);
  a.cache_ways_free = 8;
  b.cache_ways_free = 4;
  c.cache_ways_free = 2;
  EXPECT_EQ(Chosen(policy, {a, b, c}, Req("f", 3)), "b");  // smallest that fits
  EXPECT_EQ(Chosen(policy, {a, b, c}, Req("f", 4)), "b");  // exact fit
  EXPECT_EQ(Chosen(policy, {a, b, c}, Req("f", 9)), "a");  // nothing fits: the largest
  WorkerView b2 = b;
  b2.id = "a-twin";
  EXPECT_EQ(Chosen(policy, {b, b2}, Req("f", 1)), "a-twin");  // ties by id
}

TEST(WarmFirstPolicyTest, WarmThenPrewarmedThenBase) {
  auto policy = std::move(*MakePlacementPolicy("warm-first"));
  EXPECT_EQ(policy->name(), "warm-first/least-loaded");
  auto with = [](WorkerView w, const std::string& fn, v1::ExecutionMode mode) {
    v1::WarmInstance inst;
    inst.set_function(fn);
    inst.set_mode(mode);
    inst.set_count(1);
    w.warm.push_back(inst);
    return w;
  };
  WorkerView idle = W("idle", 4, 4);
  WorkerView busy_warm = with(W("busy-warm", 4, 1), "f", v1::EXECUTION_MODE_WARM);
  WorkerView prewarmed = with(W("prewarmed", 4, 4), "f", v1::EXECUTION_MODE_PREWARMED);
  WorkerView other_warm = with(W("other", 4, 4), "g", v1::EXECUTION_MODE_WARM);
  EXPECT_EQ(Chosen(*policy, {idle, busy_warm, prewarmed, other_warm}), "busy-warm");
  EXPECT_EQ(Chosen(*policy, {idle, prewarmed, other_warm}), "prewarmed");
  EXPECT_EQ(Chosen(*policy, {idle, other_warm}), "idle");  // least-loaded base, then id
  WorkerView full_warm = busy_warm;
  full_warm.free_slots = 0;
  EXPECT_EQ(Chosen(*policy, {full_warm, prewarmed}), "prewarmed");
}

TEST(PlacementFactoryTest, NamesAndErrors) {
  for (const char* name :
       {"round-robin", "least-loaded", "most-loaded", "response-time", "cache-fit"}) {
    auto policy = MakePlacementPolicy(name);
    ASSERT_TRUE(policy.ok()) << name;
    EXPECT_EQ((*policy)->name(), name);
  }
  EXPECT_EQ((*MakePlacementPolicy("warm-first/round-robin"))->name(), "warm-first/round-robin");
  EXPECT_EQ(MakePlacementPolicy("warm-first/warm-first").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakePlacementPolicy("warm-first/nope").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakePlacementPolicy("random").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsched::scheduling
