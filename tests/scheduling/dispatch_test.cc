// One late-binding decision: what leaves the queue, for which worker, and what
// stays when the head cannot go anywhere now.
#include "scheduling/dispatch.h"

#include <gtest/gtest.h>

#include "scheduling/fifo_order.h"

namespace fsched::scheduling {
namespace {

// A policy whose answer the test sets, to reach every branch of the decision.
class ScriptedPolicy : public PlacementPolicy {
 public:
  PlacementResult Place(const PlacementRequest& request, absl::Span<const WorkerView>) override {
    last_request = request;
    return answer;
  }
  std::string_view name() const override { return "scripted"; }
  PlacementResult answer;
  PlacementRequest last_request;
};

PendingInvocation P(const std::string& id, const std::string& function = "f") {
  PendingInvocation p;
  p.id = id;
  p.function = function;
  p.runtime = v1::RUNTIME_KIND_RUNC;
  p.predicted_seconds = 1.5;
  p.cache_ways = 2;
  p.worker_id = "w2";
  return p;
}

std::vector<WorkerView> Workers() {
  std::vector<WorkerView> workers(2);
  workers[0].id = "w1";
  workers[0].slots = workers[0].free_slots = 1;
  workers[1].id = "w2";
  workers[1].slots = workers[1].free_slots = 1;
  return workers;
}

const absl::Time kNow = absl::FromUnixSeconds(100);
bool Capable(v1::RuntimeKind) { return true; }
bool Incapable(v1::RuntimeKind) { return false; }

TEST(DispatchTest, PlacesTheHeadOnTheChosenWorkerAndTakesItOffTheQueue) {
  FifoOrder order;
  order.Push(P("a"));
  order.Push(P("b"));
  ScriptedPolicy policy;
  policy.answer.kind = PlacementResult::Kind::kPlaced;
  policy.answer.worker_id = "w2";
  const std::vector<WorkerView> workers = Workers();
  const DispatchDecision d = NextDispatch(order, policy, workers, kNow, Capable);
  EXPECT_EQ(d.kind, DispatchDecision::Kind::kPlace);
  EXPECT_EQ(d.pending.id, "a");
  EXPECT_EQ(d.worker, 1u);
  EXPECT_EQ(order.size(), 1u);
  // The policy saw what the queue entry asks for.
  EXPECT_EQ(policy.last_request.function, "f");
  EXPECT_EQ(policy.last_request.runtime, v1::RUNTIME_KIND_RUNC);
  EXPECT_EQ(policy.last_request.predicted_seconds, 1.5);
  EXPECT_EQ(policy.last_request.cache_ways, 2u);
  EXPECT_EQ(policy.last_request.worker_id, "w2");
}

TEST(DispatchTest, NothingHappensWithoutWorkersOrWork) {
  FifoOrder order;
  ScriptedPolicy policy;
  policy.answer.kind = PlacementResult::Kind::kPlaced;
  policy.answer.worker_id = "w1";
  EXPECT_EQ(NextDispatch(order, policy, Workers(), kNow, Capable).kind,
            DispatchDecision::Kind::kIdle);
  order.Push(P("a"));
  EXPECT_EQ(NextDispatch(order, policy, {}, kNow, Capable).kind, DispatchDecision::Kind::kIdle);
  EXPECT_EQ(order.size(), 1u);
}

TEST(DispatchTest, AHeadThatMustWaitStaysQueued) {
  FifoOrder order;
  order.Push(P("a"));
  ScriptedPolicy policy;
  policy.answer.kind = PlacementResult::Kind::kRetryLater;
  EXPECT_EQ(NextDispatch(order, policy, Workers(), kNow, Capable).kind,
            DispatchDecision::Kind::kIdle);
  // Infeasible among the workers with room, but a busy worker could run it: wait.
  policy.answer.kind = PlacementResult::Kind::kInfeasible;
  EXPECT_EQ(NextDispatch(order, policy, Workers(), kNow, Capable).kind,
            DispatchDecision::Kind::kIdle);
  EXPECT_EQ(order.size(), 1u);
}

TEST(DispatchTest, AHeadNoWorkerCanEverRunIsParkedWithTheReason) {
  FifoOrder order;
  order.Push(P("a"));
  order.Push(P("b"));
  ScriptedPolicy policy;
  policy.answer.kind = PlacementResult::Kind::kInfeasible;
  policy.answer.reason = "no ready worker supports this function's runtime";
  const DispatchDecision d = NextDispatch(order, policy, Workers(), kNow, Incapable);
  EXPECT_EQ(d.kind, DispatchDecision::Kind::kPark);
  EXPECT_EQ(d.pending.id, "a");
  EXPECT_EQ(d.reason, "no ready worker supports this function's runtime");
  EXPECT_EQ(order.size(), 1u);
}

TEST(DispatchTest, APolicyAnsweringOutsideItsCandidatesLeavesTheJobQueued) {
  FifoOrder order;
  order.Push(P("a"));
  ScriptedPolicy policy;
  policy.answer.kind = PlacementResult::Kind::kPlaced;
  policy.answer.worker_id = "w9";  // not a candidate
  EXPECT_EQ(NextDispatch(order, policy, Workers(), kNow, Capable).kind,
            DispatchDecision::Kind::kIdle);
  std::vector<WorkerView> full = Workers();
  full[0].free_slots = 0;
  policy.answer.worker_id = "w1";  // a candidate without room
  EXPECT_EQ(NextDispatch(order, policy, full, kNow, Capable).kind, DispatchDecision::Kind::kIdle);
  EXPECT_EQ(order.size(), 1u);
}

}  // namespace
}  // namespace fsched::scheduling
