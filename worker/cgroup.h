// Reads and writes cgroups on either hierarchy: cgroup v1 (one tree per
// controller, as on this machine) or v2 (one unified tree). runc makes a
// container's (named by the cgroupsPath given to it); the process runtime
// makes one per call with the controllers below. The root is configurable so
// tests can lay out a fake tree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsched::worker {

class Cgroups {
 public:
  /// v2 when `root` holds cgroup.controllers (the unified hierarchy).
  explicit Cgroups(std::string root = "/sys/fs/cgroup");
  bool unified() const { return unified_; }
  const std::string& root() const { return root_; }

  /// OOM kills in the cgroup so far (v1 memory.oom_control, v2 memory.events).
  absl::StatusOr<uint64_t> OomKills(absl::string_view cgroup) const;
  /// Relative CPU weight as v1 shares (2..262144, 1024 = default); on v2 it is
  /// converted to cpu.weight (1..10000, 100 = default) the way runc converts it.
  absl::Status SetCpuShares(absl::string_view cgroup, uint64_t shares) const;
  absl::StatusOr<uint64_t> CpuShares(absl::string_view cgroup) const;
  /// The most tasks (processes and threads) the cgroup may hold.
  absl::Status SetPidsMax(absl::string_view cgroup, uint64_t max) const;
  /// Removes the cgroup (and only it) where it is empty; absent is fine.
  void RemoveIfEmpty(absl::string_view cgroup) const;

  /// The controllers a function's own cgroup is made in (v1 hierarchies).
  static constexpr const char* kFunctionControllers[] = {"memory", "cpu", "pids"};
  /// Makes `cgroup` in each of kFunctionControllers (v2: one directory, with
  /// those controllers enabled in its parent's subtree_control).
  absl::Status Create(absl::string_view cgroup) const;
  /// Hard memory limit, swap included (v1 memory.limit_in_bytes, v2
  /// memory.max); 0 = none.
  absl::Status SetMemoryMax(absl::string_view cgroup, uint64_t bytes) const;
  /// CPU bandwidth of `cores` cores per 100 ms period (v1 cfs quota, v2
  /// cpu.max); 0 = none.
  absl::Status SetCpuMax(absl::string_view cgroup, double cores) const;
  /// cgroup.procs of the cgroup in each of kFunctionControllers, open for
  /// writing: a child writes "0" to each to move itself in before it execs.
  absl::StatusOr<std::vector<int>> OpenProcs(absl::string_view cgroup) const;
  /// CPU time used by everything in the cgroup so far (v1 cpuacct.usage,
  /// v2 cpu.stat usage_usec).
  absl::StatusOr<uint64_t> CpuUsageNs(absl::string_view cgroup) const;
  /// Memory charged to the cgroup now (v1 memory.usage_in_bytes, v2 memory.current).
  absl::StatusOr<uint64_t> MemoryUsage(absl::string_view cgroup) const;
  /// The processes in the cgroup (its pids controller's, or the unified one's).
  std::vector<int> Processes(absl::string_view cgroup) const;

  /// v2 cpu.weight for v1 shares: runc's mapping, 2 -> 1 and 262144 -> 10000.
  static uint64_t SharesToWeight(uint64_t shares);

 private:
  std::string Path(absl::string_view controller, absl::string_view cgroup,
                   absl::string_view file) const;

  std::string root_;
  bool unified_ = false;
};

}  // namespace fsched::worker
