// Shortest-remaining-first CPU weights among the functions running on a
// worker (ALPS's idea, in user space): every tick each running container's
// cgroup gets a CPU weight by its rank in predicted remaining time, aged by
// how long it has run so long functions keep moving. CFS then shares the
// cores in those proportions whenever they are contended.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "worker/cgroup.h"

namespace fsched::worker {

struct RunningFunction {
  std::string cgroup;      // the container's cgroup (runc cgroupsPath)
  double predicted_s = 0;  // the master's prediction of its whole run; 0 = unknown
  double elapsed_s = 0;    // run so far, frozen time excluded
};

struct CpuPriorityOptions {
  absl::Duration tick = absl::Milliseconds(50);
  // Aging: a function's remaining time counts as remaining / (1 + aging_rate · elapsed).
  double aging_rate = 0.1;
  uint64_t top_shares = 8192;  // rank 0; each next rank gets half, down to min_shares
  uint64_t min_shares = 128;
  uint64_t default_shares = 1024;  // unknown predictions, and everything when switched off
};

/// The cpu.shares of each function, in input order. Functions within 5 % of
/// each other's aged remaining time share a rank.
std::vector<uint64_t> PriorityShares(const std::vector<RunningFunction>& running,
                                     const CpuPriorityOptions& options);

/// The loop: samples what runs, writes the shares that changed.
class CpuPriorityLoop {
 public:
  using Source = std::function<std::vector<RunningFunction>()>;
  CpuPriorityLoop(CpuPriorityOptions options, const Cgroups* cgroups, Source source);
  /// Stops the loop.
  ~CpuPriorityLoop();
  /// One round now (tests; the loop calls it every tick).
  void Apply();

 private:
  const CpuPriorityOptions options_;
  const Cgroups* const cgroups_;
  const Source source_;
  absl::Mutex mu_;
  std::vector<std::pair<std::string, uint64_t>> written_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace fsched::worker
