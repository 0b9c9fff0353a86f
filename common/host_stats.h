// Host load from /proc (loadavg, stat, meminfo). The /proc root is configurable
// so tests read a fake tree.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace fsched {

struct HostLoad {
  double load1 = 0, load5 = 0, load15 = 0;
  double cpu_percent = 0;     // busy share since the previous Sample(), 0..100
  double memory_percent = 0;  // (total - available) / total, 0..100
  uint64_t memory_total_bytes = 0;
  uint64_t memory_available_bytes = 0;
};

class HostMonitor {
 public:
  explicit HostMonitor(std::string proc_root = "/proc") : root_(std::move(proc_root)) {}

  /// Reads the three files. The first call reports CPU since boot.
  /// \return NOT_FOUND / DATA_LOSS naming the file that could not be read or parsed.
  absl::StatusOr<HostLoad> Sample();

  /// Number of online CPUs (from sysconf; at least 1).
  static uint32_t Cores();
  /// Size of CPU 0's last-level (L3) cache from sysfs; 0 where unknown.
  static uint64_t L3CacheBytes();

 private:
  const std::string root_;
  absl::Mutex mu_;
  uint64_t prev_busy_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t prev_total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fsched
