#include "common/timer_queue.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/synchronization/notification.h"

namespace fsched {
namespace {

TEST(TimerQueueTest, RunsCallbacksInDeadlineOrder) {
  TimerQueue timers;
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  const absl::Time now = absl::Now();
  timers.RunAt(now + absl::Milliseconds(60), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(3);
    done.Notify();
  });
  timers.RunAt(now + absl::Milliseconds(20), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  timers.RunAt(now + absl::Milliseconds(40), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueueTest, PastDeadlinesRunPromptlyAndPendingOnesDropOnDestruction) {
  absl::Notification ran;
  bool late_ran = false;
  {
    TimerQueue timers;
    timers.RunAt(absl::Now() - absl::Seconds(1), [&] { ran.Notify(); });
    timers.RunAt(absl::Now() + absl::Hours(1), [&] { late_ran = true; });
    ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  EXPECT_FALSE(late_ran);
}

}  // namespace
}  // namespace fsched
