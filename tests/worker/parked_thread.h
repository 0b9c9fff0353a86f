// A second thread of the test process that waits until it is destroyed: the
// thread a per-thread setting (CPU affinity, a slice, a resctrl group) must
// reach when it is applied to a process already running one.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <thread>

#include "absl/synchronization/notification.h"

namespace fsched::worker::testing {

class ParkedThread {
 public:
  ParkedThread()
      : thread_([this] {
          tid_ = static_cast<pid_t>(::syscall(SYS_gettid));
          started_.Notify();
          release_.WaitForNotification();
        }) {
    started_.WaitForNotification();
  }
  ~ParkedThread() {
    release_.Notify();
    thread_.join();
  }
  pid_t tid() const { return tid_; }

 private:
  absl::Notification started_, release_;
  pid_t tid_ = 0;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace fsched::worker::testing
