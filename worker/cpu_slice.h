// ALPS's learned time slices (seed 004) on the kernel's EEVDF scheduler: the
// threads of every call get the slice min(mean·α, cap) − β·σ, from the recent
// run times of its function, shrunk while the host is busier than half its
// CPU. Under EEVDF a task's virtual deadline is its slice past its eligible
// time, so a short slice puts short functions first whenever the CPU is
// contended, and long ones run in longer stretches with fewer switches;
// fairness over time is the kernel's, untouched. Linux takes a slice per task
// through sched_setattr's sched_runtime since 6.12; CFS kernels have no such
// thing, and the worker says so and runs without.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fsched::worker {

struct CpuSliceOptions {
  double alpha = 1.0;                            // share of the mean run time
  double beta = 1.0;                             // how much variability shortens it
  absl::Duration cap = absl::Milliseconds(200);  // of mean·α
  double busy_threshold = 0.5;                   // CPU share above which slices shrink
  double weight = 0.2;                           // of each new run in the mean and variance
};

/// The bounds the kernel clamps a requested slice to.
inline constexpr absl::Duration kMinCpuSlice = absl::Microseconds(100);
inline constexpr absl::Duration kMaxCpuSlice = absl::Milliseconds(100);

/// min(mean·α, cap) − β·σ; above busy_threshold of the CPU, times
/// busy_threshold / cpu_share (half at a saturated host); within the kernel's bounds.
absl::Duration LearnedSlice(double mean_s, double stddev_s, double cpu_share,
                            const CpuSliceOptions& options);

/// What the worker has learned of each function's run times, and the slice
/// that follows. Thread-safe.
class CpuSlices {
 public:
  explicit CpuSlices(CpuSliceOptions options = {}) : options_(options) {}

  /// A run of `function` ended after `run` of execution.
  void Observe(const std::string& function, absl::Duration run);
  /// The slice for a call of `function`: from its runs here, else from the
  /// master's prediction (σ unknown: 0); zero when there is neither.
  absl::Duration SliceFor(const std::string& function, double predicted_s) const;
  /// The host's busy CPU share, 0..1, as last sampled.
  void set_cpu_share(double share) { cpu_share_.store(share); }

  struct Stats {
    double mean_s = 0;
    double stddev_s = 0;
    uint64_t runs = 0;
  };
  std::optional<Stats> StatsOf(const std::string& function) const;

 private:
  struct Learned {
    double mean = 0;
    double variance = 0;
    uint64_t runs = 0;
  };
  const CpuSliceOptions options_;
  std::atomic<double> cpu_share_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Learned> learned_ ABSL_GUARDED_BY(mu_);
};

/// Whether this kernel reports (and so takes) a slice per fair-class task.
bool KernelTakesCpuSlices();

/// Gives thread `tid` (0: the calling one) a slice of `slice_ns`, keeping its
/// policy and nice value; real-time threads are left alone. Raw system calls
/// only, so a child may call it between fork and exec. 0 or the errno.
int SetThreadCpuSlice(pid_t tid, uint64_t slice_ns) noexcept;

/// The slice thread `tid` has now (0: the calling thread).
absl::StatusOr<absl::Duration> ThreadCpuSlice(pid_t tid);

/// A call's slice for process `pid` where it has one; a refusal is logged,
/// never fails the call.
void GiveCpuSlice(const std::string& invocation, absl::Duration slice, pid_t pid);

/// Gives every thread of process `pid` the slice, keeping its policy and nice
/// value (real-time threads are left alone). Threads it starts later inherit
/// it, as do the processes it forks. NOT_FOUND when the process is gone.
absl::Status SetProcessCpuSlice(pid_t pid, absl::Duration slice);

}  // namespace fsched::worker
