#include "scheduling/fifo_order.h"

#include <gtest/gtest.h>

#include "scheduling/policy_factory.h"
#include "scheduling/queue_order.h"

namespace fsched::scheduling {
namespace {

PendingInvocation P(const std::string& id) {
  PendingInvocation p;
  p.id = id;
  return p;
}

TEST(FifoOrderTest, FirstInFirstOutWithRemoval) {
  FifoOrder order;
  order.Push(P("a"));
  order.Push(P("b"));
  order.Push(P("c"));
  EXPECT_EQ(order.size(), 3u);
  EXPECT_TRUE(order.Remove("a"));
  EXPECT_FALSE(order.Remove("a"));
  ASSERT_NE(order.Peek(absl::Now()), nullptr);
  EXPECT_EQ(order.Peek(absl::Now())->id, "b");
  order.Pop();
  EXPECT_EQ(order.Peek(absl::Now())->id, "c");
  order.Pop();
  EXPECT_EQ(order.Peek(absl::Now()), nullptr);
  EXPECT_EQ(order.size(), 0u);
}

TEST(FifoOrderTest, ReinsertedIdIsNotShadowedByItsStaleEntry) {
  FifoOrder order;
  order.Push(P("a"));
  order.Push(P("b"));
  EXPECT_TRUE(order.Remove("a"));
  order.Push(P("a"));  // re-queued later: goes behind b, not back to its old place
  EXPECT_EQ(order.size(), 2u);
  EXPECT_EQ(order.Peek(absl::Now())->id, "b");
  order.Pop();
  EXPECT_EQ(order.Peek(absl::Now())->id, "a");
  order.Pop();
  EXPECT_EQ(order.Peek(absl::Now()), nullptr);
  EXPECT_EQ(order.size(), 0u);
}

// Entries popped and put back in the reverse order are where they were,
// and Find still reaches every entry.
TEST(FifoOrderTest, UnpoppedEntriesRegainTheirPlaces) {
  FifoOrder order;
  for (const char* id : {"a", "b", "c", "d"}) {
    PendingInvocation p;
    p.id = id;
    order.Push(p);
  }
  order.Remove("a");  // lazily dropped from the front
  std::optional<PendingInvocation> b = order.Pop();
  std::optional<PendingInvocation> c = order.Pop();
  ASSERT_EQ(c->id, "c");
  order.Unpop(std::move(*c));
  order.Unpop(std::move(*b));
  ASSERT_NE(order.Find("d"), nullptr);
  EXPECT_EQ(order.Find("d")->id, "d");
  EXPECT_EQ(order.Find("b")->id, "b");
  std::vector<std::string> ids;
  while (order.Peek(absl::Now()) != nullptr) ids.push_back(order.Pop()->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "c", "d"}));
  // Into an empty queue, then pushes after it.
  PendingInvocation e;
  e.id = "e";
  order.Unpop(e);
  PendingInvocation f;
  f.id = "f";
  order.Push(f);
  EXPECT_EQ(order.Find("f")->id, "f");
  EXPECT_EQ(order.Pop()->id, "e");
}

TEST(QueueOrderFactoryTest, KnownAndUnknownNames) {
  EXPECT_TRUE(MakeQueueOrder("fifo").ok());
  auto unknown = MakeQueueOrder("lifo");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("fifo"), std::string::npos);
}

}  // namespace
}  // namespace fsched::scheduling
