// srtf, aging-srtf and srtf-v5 on plain data.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "scheduling/aging_srtf_order.h"
#include "scheduling/policy_factory.h"
#include "scheduling/queue_order.h"
#include "scheduling/srtf_v5_order.h"

namespace fsched::scheduling {
namespace {

const absl::Time t0 = absl::FromUnixSeconds(1000);

PendingInvocation P(const std::string& id, double predicted, absl::Duration at, uint64_t seq) {
  PendingInvocation p;
  p.id = id;
  p.predicted_seconds = predicted;
  p.enqueued = t0 + at;
  p.sequence = seq;
  return p;
}

// Pops up to `limit` entries as the scheduler would at `now`.
std::vector<std::string> Drain(QueueOrder& order, absl::Time now, size_t limit = SIZE_MAX) {
  std::vector<std::string> out;
  while (out.size() < limit) {
    const PendingInvocation* p = order.Peek(now);
    if (p == nullptr) break;
    out.push_back(p->id);
    order.Pop();
  }
  return out;
}

TEST(SrtfOrderTest, ShortestPredictionFirstTiesByArrival) {
  auto order = std::move(*MakeQueueOrder("srtf"));
  order->Push(P("long", 10, absl::ZeroDuration(), 0));
  order->Push(P("short", 1, absl::Seconds(1), 1));
  order->Push(P("mid-a", 5, absl::Seconds(2), 2));
  order->Push(P("mid-b", 5, absl::Seconds(3), 3));
  // Without aging even an hour of waiting does not help "long".
  EXPECT_EQ(Drain(*order, t0 + absl::Hours(1)),
            (std::vector<std::string>{"short", "mid-a", "mid-b", "long"}));
}

TEST(AgingSrtfOrderTest, WaitingEarnsPriority) {
  AgingSrtfOrder order(/*aging_rate=*/0.5, absl::Hours(1), "aging-srtf");
  order.Push(P("long", 10, absl::ZeroDuration(), 0));
  // 4 s later a 9 s job arrives: 10 + 0.5·0 = 10 < 9 + 0.5·4 = 11, so "long" (older) wins.
  order.Push(P("later", 9, absl::Seconds(4), 1));
  // 1 s job arriving at 30 s: 1 + 15 = 16 > 10, also behind "long".
  order.Push(P("tiny-late", 1, absl::Seconds(30), 2));
  // 1 s job arriving at 1 s: 1 + 0.5 = 1.5 is first.
  order.Push(P("tiny-early", 1, absl::Seconds(1), 3));
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(31)),
            (std::vector<std::string>{"tiny-early", "long", "later", "tiny-late"}));
}

TEST(AgingSrtfOrderTest, MaxWaitGuardLetsTheOldestGoFirst) {
  AgingSrtfOrder order(/*aging_rate=*/0.0, absl::Seconds(30), "aging-srtf");
  order.Push(P("huge", 1000, absl::ZeroDuration(), 0));
  order.Push(P("small-1", 1, absl::Seconds(5), 1));
  order.Push(P("small-2", 1, absl::Seconds(6), 2));
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(29))->id, "small-1");
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(31))->id, "huge");  // waited over 30 s
  order.Pop();
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(31)), (std::vector<std::string>{"small-1", "small-2"}));
}

// An entry of `function` (its own id when empty) with this typical run time.
PendingInvocation PE(const std::string& id, double predicted, double typical, absl::Duration at,
                     uint64_t seq, const std::string& function = "") {
  PendingInvocation p = P(id, predicted, at, seq);
  p.function = function.empty() ? id : function;
  p.typical_seconds = typical;
  return p;
}

// Bound = min(max_wait, max(min_wait, k · predicted)); overdue entries go
// earliest due first, which need not be the oldest nor the shortest.
TEST(AgingSrtfOrderTest, SlowdownBoundServesOverdueEntriesEarliestDueFirst) {
  AgingSrtfOrder order({.aging_rate = 0,
                        .max_wait = absl::Seconds(100),
                        .slowdown_bound = 10,
                        .min_wait = absl::Seconds(1)},
                       "aging-srtf");
  order.Push(P("old", 5, absl::ZeroDuration(), 0));           // due 0 + min(100, 50) = 50
  order.Push(P("young", 3, absl::Seconds(10), 1));            // due 10 + 30 = 40
  order.Push(P("tiny", 0.05, absl::Seconds(59), 2));          // due 59 + max(1, 0.5) = 60
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(39))->id, "tiny");  // nobody overdue: shortest
  // At 59.5 "old" and "young" are overdue and "tiny" is not: earliest due first.
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(59.5)),
            (std::vector<std::string>{"young", "old", "tiny"}));
  // A large k is capped by max_wait.
  order.Push(P("huge", 1000, absl::Seconds(60), 3));  // due 60 + 100, not 60 + 10000
  order.Push(P("mid", 2, absl::Seconds(150), 4));     // due 150 + 20
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(159.5))->id, "mid");
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(160.5))->id, "huge");
}

// Bound = max(min_wait, factor · E), E = typical work queued at the push over
// the slots: the wait FIFO would give the newcomer.
TEST(AgingSrtfOrderTest, FifoRelativeBoundScalesWithTheBacklogAndTheSlots) {
  const QueueOrderOptions options{.aging_rate = 0,
                                  .max_wait = absl::Seconds(600),
                                  .fifo_wait_factor = 2,
                                  .min_wait = absl::Seconds(5)};
  for (const uint32_t slots : {2u, 4u}) {
    SCOPED_TRACE(slots);
    AgingSrtfOrder order(options, "aging-srtf");
    order.SetCapacity(slots);
    order.Push(PE("first", 50, 100, absl::ZeroDuration(), 0));  // nothing queued: due 5
    // 100 s queued: E = 50 s on 2 slots (due 1 + 100), 25 s on 4 (due 1 + 50).
    order.Push(PE("second", 40, 80, absl::Seconds(1), 1));
    // 180 s queued: due 2 + 180 on 2 slots, 2 + 90 on 4.
    order.Push(PE("short", 1, 2, absl::Seconds(2), 2));
    EXPECT_EQ(order.Peek(t0 + absl::Seconds(3))->id, "short");
    EXPECT_EQ(order.Peek(t0 + absl::Seconds(6))->id, "first");
    order.Pop();
    EXPECT_EQ(order.Peek(t0 + absl::Seconds(50))->id, "short");
    EXPECT_EQ(order.Peek(t0 + absl::Seconds(52))->id, slots == 2 ? "short" : "second");
    EXPECT_EQ(order.Peek(t0 + absl::Seconds(102))->id, "second");
    order.Pop();
    // What left the queue no longer counts: 2 s queued, E = 1 or 0.5, the floor holds.
    order.Push(PE("late", 30, 30, absl::Seconds(103), 3));  // due 108
    EXPECT_EQ(order.Peek(t0 + absl::Seconds(107))->id, "short");
    // Both overdue on 4 slots ("short" since 92): earliest due first.
    EXPECT_EQ(order.Peek(t0 + absl::Seconds(109))->id, slots == 2 ? "late" : "short");
  }
}

// The FIFO-relative bound alone: factor 1, a 1 s floor, no aging.
constexpr QueueOrderOptions kFifoRelative{.aging_rate = 0,
                                          .max_wait = absl::Seconds(600),
                                          .fifo_wait_factor = 1,
                                          .min_wait = absl::Seconds(1)};

// The dispatch step pops entries it cannot place and puts them back: they must
// come back with the due time of their arrival, not one computed from the
// queue as it is when they return.
TEST(AgingSrtfOrderTest, AnUnpoppedEntryKeepsItsDueTime) {
  AgingSrtfOrder order(kFifoRelative, "aging-srtf");
  order.SetCapacity(1);
  order.Push(PE("b", 5, 5, absl::ZeroDuration(), 0));    // nothing queued: due 1
  order.Push(PE("a", 10, 10, absl::ZeroDuration(), 1));  // 5 s queued: due 5
  ASSERT_EQ(order.Peek(t0 + absl::Seconds(0.5))->id, "b");
  std::optional<PendingInvocation> b = order.Pop();
  ASSERT_EQ(order.Peek(t0 + absl::Seconds(0.5))->id, "a");
  std::optional<PendingInvocation> a = order.Pop();
  // Pushed afresh, "a" would be due at 1 (nothing queued) and "b" at 10.
  order.Unpop(std::move(*a));
  order.Unpop(std::move(*b));
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(2))->id, "b");
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(6)), (std::vector<std::string>{"b", "a"}));
}

// The backlog counts every queued call of a function at the newest typical
// run time pushed for it: a call that arrived while its function's estimate
// was high stops inflating everyone's bound once a newer estimate arrives.
TEST(AgingSrtfOrderTest, QueuedCallsCountAtTheirFunctionsNewestTypicalRunTime) {
  AgingSrtfOrder order(kFifoRelative, "aging-srtf");
  order.SetCapacity(1);
  order.Push(PE("f-1", 50, 50, absl::Seconds(0), 0, "f"));  // nothing queued: due 0 + 1
  order.Push(
      PE("f-2", 2, 2, absl::Seconds(1), 1, "f"));  // 50 queued: due 1 + 50; then f counts 2 a call
  order.Push(PE("g-1", 4, 4, absl::Seconds(2), 2, "g"));        // 2 · 2 queued: due 2 + 4 = 6
  order.Push(PE("short", 0.5, 0.5, absl::Seconds(2), 3, "h"));  // 2 · 2 + 4 queued: due 10
  // Had f-1 kept counting its own 50 s, g-1 would be due at 2 + 52 and run last.
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(7)),
            (std::vector<std::string>{"f-1", "g-1", "short", "f-2"}));
  // A call that leaves takes its function's newest estimate away, not its own.
  order.Push(PE("f-3", 3, 3, absl::Seconds(8), 4, "f"));  // empty queue: due 9
  order.Push(
      PE("f-4", 1, 1, absl::Seconds(8), 5, "f"));  // 3 queued: due 11; then f counts 1 a call
  order.Push(PE("g-2", 1, 1, absl::Seconds(8), 6, "g"));    // 2 · 1 queued: due 10
  ASSERT_EQ(order.Peek(t0 + absl::Seconds(8))->id, "f-4");  // nobody overdue: shortest
  order.Pop();
  order.Push(PE("late", 5, 5, absl::Seconds(9.5), 7, "h"));      // f-3 at 1 + g-2 at 1: due 11.5
  order.Push(PE("tiny", 0.1, 0.1, absl::Seconds(9.5), 8, "k"));  // 1 + 1 + 5 queued: due 16.5
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(10.5), 2), (std::vector<std::string>{"f-3", "g-2"}));
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(11))->id, "tiny");
  // Counted at f-3's own 3 s, "late" would be due at 13.5.
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(12))->id, "late");
}

TEST(AgingSrtfOrderTest, RemoveAndRequeue) {
  AgingSrtfOrder order(0.1, absl::Seconds(30), "aging-srtf");
  order.Push(P("a", 1, absl::ZeroDuration(), 0));
  order.Push(P("b", 2, absl::ZeroDuration(), 1));
  EXPECT_TRUE(order.Remove("a"));
  EXPECT_FALSE(order.Remove("a"));
  EXPECT_EQ(order.size(), 1u);
  order.Push(P("a", 3, absl::Seconds(1), 2));  // back with a new prediction
  EXPECT_EQ(order.size(), 2u);
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(2)), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(order.Peek(t0), nullptr);
  order.Pop();  // popping an empty order is harmless
}

TEST(SrtfV5OrderTest, SeedPriorityFormula) {
  SrtfV5Order order;
  // At t = 10 s: waits 10 and 1, mean 5.5 -> beta = 1.0.
  // a: 0.8/4 + 10 = 10.2; b: 0.8/0.1 + 1 = 9.0 -> a first.
  order.Push(P("a", 4, absl::ZeroDuration(), 0));
  order.Push(P("b", 0.1, absl::Seconds(9), 1));
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(10))->id, "a");
  // At t = 9.05 s: waits 9.05, 0.05 -> beta 1; a: 9.25, b: 8.05 -> still a.
  // With a tiny prediction the short one wins: 0.8/0.01 = 80.
  order.Push(P("c", 0.01, absl::Seconds(9), 2));
  EXPECT_EQ(order.Peek(t0 + absl::Seconds(10))->id, "c");
  EXPECT_EQ(Drain(order, t0 + absl::Seconds(10)), (std::vector<std::string>{"c", "a", "b"}));
}

TEST(SrtfV5OrderTest, BetaIsClampedWhenTheQueueIsFresh) {
  SrtfV5Order order;
  // Waits 0.02 s and 0 s: mean wait 0.01 -> beta clamps to 0.1.
  // x: 0.8/2 + 0.1·0.02 = 0.402; y: 0.8/1.9 = 0.421 -> y first.
  order.Push(P("x", 2, absl::ZeroDuration(), 0));
  order.Push(P("y", 1.9, absl::Milliseconds(20), 1));
  EXPECT_EQ(order.Peek(t0 + absl::Milliseconds(20))->id, "y");
  EXPECT_TRUE(order.Remove("y"));
  EXPECT_EQ(order.Peek(t0 + absl::Milliseconds(20))->id, "x");
}

TEST(QueueOrderFactoryTest, EveryNameBuildsAndReportsItself) {
  for (const char* name : {"fifo", "srtf", "aging-srtf", "srtf-v5"}) {
    auto order = MakeQueueOrder(name);
    ASSERT_TRUE(order.ok()) << name;
    EXPECT_EQ((*order)->name(), name);
  }
}

}  // namespace
}  // namespace fsched::scheduling

namespace fsched::scheduling {
namespace {

// Every order: Pop hands over the entry Peek named, Find sees exactly the
// queued entries, and a re-pushed id replaces its old entry.
TEST(QueueOrderContractTest, PopHandsOverAndFindSeesOnlyQueuedEntries) {
  for (const char* name : {"fifo", "srtf", "aging-srtf", "srtf-v5"}) {
    SCOPED_TRACE(name);
    auto order = std::move(*MakeQueueOrder(name));
    EXPECT_FALSE(order->Pop().has_value());
    order->Push(P("a", 3, absl::ZeroDuration(), 0));
    order->Push(P("b", 1, absl::Seconds(1), 1));
    order->Push(P("c", 2, absl::Seconds(2), 2));
    ASSERT_NE(order->Find("c"), nullptr);
    EXPECT_EQ(order->Find("c")->sequence, 2u);
    EXPECT_EQ(order->Find("zzz"), nullptr);

    order->Push(P("c", 2, absl::Seconds(3), 7));  // re-queued: replaces
    EXPECT_EQ(order->size(), 3u);
    EXPECT_EQ(order->Find("c")->sequence, 7u);

    const PendingInvocation* head = order->Peek(t0 + absl::Seconds(4));
    ASSERT_NE(head, nullptr);
    const std::string head_id = head->id;
    std::optional<PendingInvocation> popped = order->Pop();
    ASSERT_TRUE(popped.has_value());
    EXPECT_EQ(popped->id, head_id);
    EXPECT_EQ(order->Find(head_id), nullptr);
    EXPECT_EQ(order->size(), 2u);

    EXPECT_TRUE(order->Remove("a") || head_id == "a");
    EXPECT_EQ(order->Find("a"), nullptr);
  }
}

// Many pushes, pops and removals against a sorted reference: the slot array
// reuses freed slots and the heap must never resurrect a removed entry.
TEST(AgingSrtfOrderTest, MatchesAReferenceUnderChurn) {
  AgingSrtfOrder order(0.0, absl::InfiniteDuration(), "srtf");
  std::map<std::pair<double, uint64_t>, std::string> reference;  // (predicted, push) -> id
  std::map<std::string, std::pair<double, uint64_t>> key_of;
  std::mt19937_64 rng(5);
  uint64_t pushes = 0;
  for (int step = 0; step < 20000; ++step) {
    const int action = static_cast<int>(rng() % 3);
    if (action == 0 || reference.empty()) {
      const std::string id = "i" + std::to_string(rng() % 500);
      if (auto old = key_of.find(id); old != key_of.end()) {
        reference.erase(old->second);
      }
      const double predicted = static_cast<double>(rng() % 50);
      order.Push(P(id, predicted, absl::ZeroDuration(), pushes));
      reference[{predicted, pushes}] = id;
      key_of[id] = {predicted, pushes};
      ++pushes;
    } else if (action == 1) {
      const PendingInvocation* head = order.Peek(t0);
      ASSERT_NE(head, nullptr);
      ASSERT_EQ(head->id, reference.begin()->second) << "step " << step;
      order.Pop();
      key_of.erase(reference.begin()->second);
      reference.erase(reference.begin());
    } else {
      const std::string id = "i" + std::to_string(rng() % 500);
      auto it = key_of.find(id);
      EXPECT_EQ(order.Remove(id), it != key_of.end());
      if (it != key_of.end()) {
        reference.erase(it->second);
        key_of.erase(it);
      }
    }
    ASSERT_EQ(order.size(), reference.size());
  }
}

}  // namespace
}  // namespace fsched::scheduling
