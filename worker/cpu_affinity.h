// Keeping a worker, and every function process it starts, on a set of CPUs
// (worker.cpus), under one scheduling policy (worker.cpu_policy). A warm call is a chain of
// wake-ups (gRPC thread, slot thread, instance, slot thread); on a VM a wake-up that crosses to
// another CPU costs an inter-processor interrupt and often a hypervisor exit, so a worker whose
// threads and instances share its CPUs does the same work for less CPU
// (docs/performance.md, "Workers on their own CPUs").
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsched::worker {

/// The CPUs of a list in the kernel's cpuset format ("0-3,8", as taskset -c
/// and cpuset.cpus take it), ascending, each once. INVALID_ARGUMENT naming
/// the bad part: an empty list or element, not a number, a range that runs
/// backwards, a CPU number of 1024 or more.
absl::StatusOr<std::vector<int>> ParseCpuList(absl::string_view list);

/// `cpus` in the same format, ranges joined ("0-3,8").
std::string FormatCpuList(const std::vector<int>& cpus);

/// The CPUs this process may run on now (sched_getaffinity).
absl::StatusOr<std::vector<int>> AllowedCpus();

/// Moves every thread of this process to `cpus`; threads and processes
/// started later inherit them. FAILED_PRECONDITION, before anything moved,
/// for a CPU outside the ones the process runs on now (as whoever started it
/// allowed: all online CPUs, taskset, a container's cpuset), naming those.
/// Meant to be called once, at start: it only ever narrows.
absl::Status PinProcessToCpus(const std::vector<int>& cpus);

/// Puts every thread of this process under `policy` (SCHED_OTHER or
/// SCHED_BATCH, priority 0; nice values stay); threads and processes started
/// later inherit it. INVALID_ARGUMENT for another policy; INTERNAL naming the
/// thread the kernel refused.
absl::Status SetProcessCpuPolicy(int policy);

/// The scheduling policy of thread or process `tid` (sched_getscheduler), or
/// INTERNAL naming it.
absl::StatusOr<int> CpuPolicyOf(pid_t tid);

}  // namespace fsched::worker
