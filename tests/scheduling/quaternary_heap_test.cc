#include "scheduling/quaternary_heap.h"

#include <gtest/gtest.h>

#include <functional>
#include <queue>
#include <random>

namespace fsched::scheduling {
namespace {

TEST(QuaternaryHeapTest, PopsInTheSameOrderAsTheStandardHeap) {
  QuaternaryHeap<int, std::less<int>> heap;
  std::priority_queue<int, std::vector<int>, std::greater<int>> reference;
  std::mt19937 rng(1);
  for (int step = 0; step < 50000; ++step) {
    if (rng() % 3 != 0 || reference.empty()) {
      const int v = static_cast<int>(rng() % 1000);
      heap.push(v);
      reference.push(v);
    } else {
      ASSERT_EQ(heap.top(), reference.top()) << "step " << step;
      heap.pop();
      reference.pop();
    }
    ASSERT_EQ(heap.size(), reference.size());
  }
  while (!reference.empty()) {
    ASSERT_EQ(heap.top(), reference.top());
    heap.pop();
    reference.pop();
  }
  EXPECT_TRUE(heap.empty());
}

TEST(QuaternaryHeapTest, SingleElementAndDuplicates) {
  QuaternaryHeap<int, std::less<int>> heap;
  heap.push(7);
  EXPECT_EQ(heap.top(), 7);
  heap.pop();
  EXPECT_TRUE(heap.empty());
  for (int i = 0; i < 9; ++i) heap.push(4);
  heap.push(2);
  EXPECT_EQ(heap.top(), 2);
  heap.pop();
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(heap.top(), 4);
    heap.pop();
  }
  EXPECT_TRUE(heap.empty());
}

}  // namespace
}  // namespace fsched::scheduling
