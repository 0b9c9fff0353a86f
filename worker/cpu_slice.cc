#include "worker/cpu_slice.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "worker/kernel_files.h"

namespace fsched::worker {
namespace {

// The kernel's struct sched_attr (linux/sched/types.h clashes with glibc's
// sched.h): size 56 since Linux 5.3.
struct KernelSchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

bool FairPolicy(uint32_t policy) { return policy == SCHED_OTHER || policy == SCHED_BATCH; }

absl::Status SlicesError(pid_t tid, int error) {
  return error == ESRCH
             ? absl::NotFoundError(absl::StrCat("thread ", tid, " is gone"))
             : absl::FailedPreconditionError(absl::StrCat("cannot set the CPU slice of thread ",
                                                          tid, ": ", std::strerror(error)));
}

}  // namespace

absl::Duration LearnedSlice(double mean_s, double stddev_s, double cpu_share,
                            const CpuSliceOptions& options) {
  double slice = std::min(mean_s * options.alpha, absl::ToDoubleSeconds(options.cap)) -
                 options.beta * stddev_s;
  if (cpu_share > options.busy_threshold && cpu_share > 0) {
    slice *= options.busy_threshold / std::min(cpu_share, 1.0);
  }
  return std::clamp(absl::Seconds(slice), kMinCpuSlice, kMaxCpuSlice);
}

void CpuSlices::Observe(const std::string& function, absl::Duration run) {
  const double x = absl::ToDoubleSeconds(run);
  if (!(x >= 0)) return;
  absl::MutexLock lock(&mu_);
  Learned& l = learned_[function];
  if (l.runs++ == 0) {
    l.mean = x;
    l.variance = 0;
    return;
  }
  // Exponentially weighted mean and variance: recent runs count most.
  const double diff = x - l.mean;
  const double step = options_.weight * diff;
  l.mean += step;
  l.variance = (1 - options_.weight) * (l.variance + diff * step);
}

absl::Duration CpuSlices::SliceFor(const std::string& function, double predicted_s) const {
  double mean = predicted_s, stddev = 0;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = learned_.find(function); it != learned_.end()) {
      mean = it->second.mean;
      stddev = std::sqrt(it->second.variance);
    }
  }
  if (!(mean > 0)) return absl::ZeroDuration();
  return LearnedSlice(mean, stddev, cpu_share_.load(), options_);
}

std::optional<CpuSlices::Stats> CpuSlices::StatsOf(const std::string& function) const {
  absl::MutexLock lock(&mu_);
  auto it = learned_.find(function);
  if (it == learned_.end()) return std::nullopt;
  return Stats{it->second.mean, std::sqrt(it->second.variance), it->second.runs};
}

bool KernelTakesCpuSlices() {
  // Kernels that take a slice report the one a fair task has (EEVDF's
  // base slice by default); CFS kernels report 0 there.
  KernelSchedAttr attr{};
  return ::syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) == 0 &&
         FairPolicy(attr.sched_policy) && attr.sched_runtime > 0;
}

int SetThreadCpuSlice(pid_t tid, uint64_t slice_ns) noexcept {
  KernelSchedAttr attr{};
  if (::syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0) != 0) return errno;
  if (!FairPolicy(attr.sched_policy) || attr.sched_runtime == slice_ns) return 0;
  attr.size = sizeof(attr);
  attr.sched_flags = 0;  // policy and nice as they are; no utilisation clamps
  attr.sched_runtime = slice_ns;
  return ::syscall(SYS_sched_setattr, tid, &attr, 0) == 0 ? 0 : errno;
}

absl::StatusOr<absl::Duration> ThreadCpuSlice(pid_t tid) {
  KernelSchedAttr attr{};
  if (::syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0) != 0) {
    return SlicesError(tid, errno);
  }
  return absl::Nanoseconds(static_cast<int64_t>(attr.sched_runtime));
}

absl::Status SetProcessCpuSlice(pid_t pid, absl::Duration slice) {
  const auto ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(slice));
  const std::vector<pid_t> threads = ThreadsOf(pid);
  if (threads.empty()) return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
  for (const pid_t tid : threads) {
    if (const int error = SetThreadCpuSlice(tid, ns); error != 0 && error != ESRCH) {
      return SlicesError(tid, error);
    }
  }
  return absl::OkStatus();
}

void GiveCpuSlice(const std::string& invocation, absl::Duration slice, pid_t pid) {
  if (slice <= absl::ZeroDuration()) return;
  absl::Status s = SetProcessCpuSlice(pid, slice);
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
    FSCHED_LOG(kWarning, "invocation %s runs without its CPU slice: %s", invocation, s.message());
  }
}

}  // namespace fsched::worker
