#include "common/timer_queue.h"

#include "common/thread_name.h"

namespace fsched {

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  changed_.Signal();
  thread_.join();
}

void TimerQueue::RunAt(absl::Time when, std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  due_.emplace(when, std::move(callback));
  changed_.Signal();
}

void TimerQueue::Flush() {
  std::multimap<absl::Time, std::function<void()>> due;
  {
    absl::MutexLock lock(&mu_);
    due.swap(due_);
  }
  for (auto& [when, callback] : due) callback();
}

void TimerQueue::Loop() {
  NameThisThread("timers");
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    if (due_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    const absl::Time next = due_.begin()->first;
    if (absl::Now() < next) {
      // Woken early by RunAt (an earlier timer may have arrived) or by stop.
      changed_.WaitWithDeadline(&mu_, next);
      continue;
    }
    auto callback = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    mu_.Unlock();
    callback();
    mu_.Lock();
  }
}

}  // namespace fsched
