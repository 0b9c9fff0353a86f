// Runs callbacks at given wall-clock times on one background thread. Used for
// deadlines that must not block an RPC reaction (wait timeouts, join deadlines).
#pragma once

#include <functional>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fsched {

class TimerQueue {
 public:
  TimerQueue();
  /// Stops the thread; callbacks not yet due are dropped.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  /// Runs `callback` on the timer thread at or soon after `when`. Callbacks must
  /// be short; they run one at a time.
  void RunAt(absl::Time when, std::function<void()> callback);
  /// Runs every callback not yet due now, on the caller's thread (for owners
  /// that must answer everything before they stop).
  void Flush();

 private:
  void Loop();
  absl::Mutex mu_;
  absl::CondVar changed_;
  std::multimap<absl::Time, std::function<void()>> due_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fsched
