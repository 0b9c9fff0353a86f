#include "common/host_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace fsched {

absl::StatusOr<HostLoad> HostMonitor::Sample() {
  HostLoad load;
  {
    std::ifstream in(root_ + "/loadavg");
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", root_, "/loadavg"));
    if (!(in >> load.load1 >> load.load5 >> load.load15)) {
      return absl::DataLossError(absl::StrCat("cannot parse ", root_, "/loadavg"));
    }
  }
  {
    std::ifstream in(root_ + "/stat");
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", root_, "/stat"));
    std::string label;
    uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
        label != "cpu") {
      return absl::DataLossError(absl::StrCat("cannot parse the cpu line of ", root_, "/stat"));
    }
    const uint64_t busy = user + nice + system + irq + softirq + steal;
    const uint64_t total = busy + idle + iowait;
    absl::MutexLock lock(&mu_);
    if (total > prev_total_) {
      load.cpu_percent = 100.0 * static_cast<double>(busy - std::min(busy, prev_busy_)) /
                         static_cast<double>(total - prev_total_);
    }
    prev_busy_ = busy;
    prev_total_ = total;
  }
  {
    std::ifstream in(root_ + "/meminfo");
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", root_, "/meminfo"));
    std::string key, unit;
    uint64_t value = 0;
    while (in >> key >> value) {
      std::getline(in, unit);
      if (key == "MemTotal:") load.memory_total_bytes = value * 1024;
      if (key == "MemAvailable:") load.memory_available_bytes = value * 1024;
    }
    if (load.memory_total_bytes == 0) {
      return absl::DataLossError(absl::StrCat("no MemTotal in ", root_, "/meminfo"));
    }
    load.memory_percent =
        100.0 *
        static_cast<double>(load.memory_total_bytes -
                            std::min(load.memory_total_bytes, load.memory_available_bytes)) /
        static_cast<double>(load.memory_total_bytes);
  }
  return load;
}

uint64_t HostMonitor::L3CacheBytes() {
  // "32768K"
  std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index3/size");
  uint64_t size = 0;
  char unit = 0;
  if (!(in >> size)) return 0;
  in >> unit;
  return unit == 'K' ? size << 10 : unit == 'M' ? size << 20 : size;
}

uint32_t HostMonitor::Cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

}  // namespace fsched
