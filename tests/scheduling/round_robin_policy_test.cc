#include "scheduling/round_robin_policy.h"

#include <gtest/gtest.h>

#include "scheduling/policy_factory.h"

namespace fsched::scheduling {
namespace {

WorkerView W(const std::string& id, uint32_t free_slots,
             std::vector<v1::RuntimeKind> runtimes = {v1::RUNTIME_KIND_PROCESS}) {
  WorkerView w;
  w.id = id;
  w.slots = 4;
  w.free_slots = free_slots;
  w.runtimes = std::move(runtimes);
  return w;
}

PlacementRequest Req(v1::RuntimeKind runtime = v1::RUNTIME_KIND_UNSPECIFIED) {
  PlacementRequest r;
  r.function = "f";
  r.runtime = runtime;
  return r;
}

TEST(RoundRobinPolicyTest, CyclesInIdOrderSkippingFullWorkers) {
  RoundRobinPolicy policy;
  std::vector<WorkerView> workers = {W("c", 1), W("a", 1), W("b", 0)};
  std::vector<std::string> chosen;
  for (int i = 0; i < 4; ++i) chosen.push_back(policy.Place(Req(), workers).worker_id);
  EXPECT_EQ(chosen, (std::vector<std::string>{"a", "c", "a", "c"}));
}

TEST(RoundRobinPolicyTest, StaysFairWhenWorkersJoinAndLeave) {
  RoundRobinPolicy policy;
  EXPECT_EQ(policy.Place(Req(), std::vector<WorkerView>{W("a", 1), W("b", 1)}).worker_id, "a");
  // "a" left and "aa" joined: the next is the first id after "a", not an index.
  EXPECT_EQ(policy.Place(Req(), std::vector<WorkerView>{W("aa", 1), W("b", 1)}).worker_id, "aa");
  EXPECT_EQ(policy.Place(Req(), std::vector<WorkerView>{W("aa", 1), W("b", 1)}).worker_id, "b");
}

TEST(RoundRobinPolicyTest, SingleCandidate) {
  RoundRobinPolicy policy;
  std::vector<WorkerView> one = {W("only", 2)};
  EXPECT_EQ(policy.Place(Req(), one).worker_id, "only");
  EXPECT_EQ(policy.Place(Req(), one).worker_id, "only");
}

TEST(RoundRobinPolicyTest, FullIsRetryLaterUnsupportedIsInfeasible) {
  RoundRobinPolicy policy;
  std::vector<WorkerView> full = {W("a", 0), W("b", 0)};
  EXPECT_EQ(policy.Place(Req(), full).kind, PlacementResult::Kind::kRetryLater);
  EXPECT_EQ(policy.Place(Req(v1::RUNTIME_KIND_RUNC), full).kind,
            PlacementResult::Kind::kInfeasible);
  std::vector<WorkerView> none;
  EXPECT_EQ(policy.Place(Req(), none).kind, PlacementResult::Kind::kInfeasible);
  std::vector<WorkerView> mixed = {W("a", 1), W("r", 1, {v1::RUNTIME_KIND_RUNC})};
  EXPECT_EQ(policy.Place(Req(v1::RUNTIME_KIND_RUNC), mixed).worker_id, "r");
}

TEST(PlacementFactoryTest, KnownAndUnknownNames) {
  EXPECT_TRUE(MakePlacementPolicy("round-robin").ok());
  EXPECT_EQ(MakePlacementPolicy("random").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsched::scheduling
