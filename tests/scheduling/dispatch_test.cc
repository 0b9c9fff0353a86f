// One late-binding decision: what leaves the queue, for which worker, and what
// stays when the head cannot go anywhere now.
#include "scheduling/dispatch.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "scheduling/fifo_order.h"
#include "scheduling/policy_factory.h"

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

// Answers by the request: entries pinned to "busy" must wait, others go to w1.
class PinnedPolicy : public PlacementPolicy {
 public:
  PlacementResult Place(const PlacementRequest& request, absl::Span<const WorkerView>) override {
    ++calls;
    PlacementResult r;
    if (request.worker_id == "busy") {
      r.kind = PlacementResult::Kind::kRetryLater;
    } else {
      r.kind = PlacementResult::Kind::kPlaced;
      r.worker_id = "w1";
    }
    return r;
  }
  std::string_view name() const override { return "pinned"; }
  int calls = 0;
};

PendingInvocation Pinned(const std::string& id, const std::string& worker) {
  PendingInvocation p = P(id);
  p.worker_id = worker;
  return p;
}

// Drains `order` into the ids in the order it gives them.
std::vector<std::string> Drain(QueueOrder& order) {
  std::vector<std::string> ids;
  while (order.Peek(kNow) != nullptr) ids.push_back(order.Pop()->id);
  return ids;
}

TEST(DispatchTest, EntriesThatMustWaitDoNotStallPlaceableWorkAndKeepTheirPlaces) {
  FifoOrder order;
  order.Push(Pinned("a", "busy"));
  order.Push(Pinned("b", "busy"));
  order.Push(Pinned("c", ""));
  order.Push(Pinned("d", ""));
  PinnedPolicy policy;
  const DispatchDecision d = NextDispatch(order, policy, Workers(), kNow, Capable);
  EXPECT_EQ(d.kind, DispatchDecision::Kind::kPlace);
  EXPECT_EQ(d.pending.id, "c");
  EXPECT_EQ(d.worker, 0u);
  EXPECT_EQ(policy.calls, 3);
  const std::vector<std::string> expected = {"a", "b", "d"};
  EXPECT_EQ(Drain(order), expected);
}

TEST(DispatchTest, ThePriorityOrderKeepsItsOrderPastWaitingEntries) {
  QueueOrderOptions options;
  options.max_wait = absl::InfiniteDuration();
  std::unique_ptr<QueueOrder> order = MakeQueueOrder("aging-srtf", options).value();
  // Predicted 1, 2, 3, 4 s, arriving together: shortest first.
  for (int i = 4; i >= 1; --i) {
    PendingInvocation p =
        Pinned(std::string(1, static_cast<char>('a' + i - 1)), i <= 2 ? "busy" : "");
    p.predicted_seconds = i;
    p.enqueued = kNow;
    p.sequence = static_cast<uint64_t>(5 - i);
    order->Push(std::move(p));
  }
  PinnedPolicy policy;
  const DispatchDecision d = NextDispatch(*order, policy, Workers(), kNow, Capable);
  EXPECT_EQ(d.kind, DispatchDecision::Kind::kPlace);
  EXPECT_EQ(d.pending.id, "c");  // a (1 s) and b (2 s) must wait
  const std::vector<std::string> expected = {"a", "b", "d"};
  EXPECT_EQ(Drain(*order), expected);
}

TEST(DispatchTest, TheLookaheadIsBoundedAndLeavesTheQueueAsItWas) {
  FifoOrder order;
  for (size_t i = 0; i < kDispatchLookahead; ++i) order.Push(Pinned(absl::StrCat("w", i), "busy"));
  order.Push(Pinned("free", ""));
  PinnedPolicy policy;
  EXPECT_EQ(NextDispatch(order, policy, Workers(), kNow, Capable).kind,
            DispatchDecision::Kind::kIdle);
  EXPECT_EQ(policy.calls, static_cast<int>(kDispatchLookahead));
  const std::vector<std::string> ids = Drain(order);
  ASSERT_EQ(ids.size(), kDispatchLookahead + 1);
  EXPECT_EQ(ids.front(), "w0");
  EXPECT_EQ(ids.back(), "free");
}

}  // namespace
}  // namespace fsched::scheduling
