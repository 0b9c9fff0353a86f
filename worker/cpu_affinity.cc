#include "worker/cpu_affinity.h"

#include <sched.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace fsched::worker {
namespace {

absl::StatusOr<int> ParseCpu(absl::string_view text, absl::string_view list) {
  int cpu = 0;
  if (!absl::SimpleAtoi(text, &cpu) || cpu < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", list, "': '", text, "' is not a CPU number"));
  }
  if (cpu >= CPU_SETSIZE) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", list, "': CPU ", cpu, " is past the largest, ", CPU_SETSIZE - 1));
  }
  return cpu;
}

// Applies `apply` to every thread of this process. Scheduling settings are per
// thread, and a new thread takes its creator's: one started by a thread not
// yet reached would keep the old ones, so passes repeat until one finds no
// thread it had not reached.
absl::Status ForEachThread(absl::FunctionRef<absl::Status(pid_t)> apply) {
  absl::flat_hash_set<pid_t> reached;
  for (bool found_new = true; found_new;) {
    found_new = false;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
      pid_t tid = 0;
      if (!absl::SimpleAtoi(task.path().filename().string(), &tid) || reached.contains(tid)) {
        continue;
      }
      RETURN_IF_ERROR(apply(tid));
      reached.insert(tid);
      found_new = true;
    }
    if (ec) return absl::InternalError(absl::StrCat("/proc/self/task: ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<int>> ParseCpuList(absl::string_view list) {
  if (list.empty()) return absl::InvalidArgumentError("an empty CPU list");
  std::vector<int> cpus;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    if (part.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("'", list, "' has an empty element"));
    }
    const std::vector<absl::string_view> ends = absl::StrSplit(part, absl::MaxSplits('-', 1));
    absl::StatusOr<int> first = ParseCpu(ends[0], list);
    if (!first.ok()) return first.status();
    int last = *first;
    if (ends.size() == 2) {
      absl::StatusOr<int> parsed = ParseCpu(ends[1], list);
      if (!parsed.ok()) return parsed.status();
      last = *parsed;
      if (last < *first) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", list, "': the range ", part, " runs backwards"));
      }
    }
    for (int cpu = *first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    parts.push_back(j == i ? absl::StrCat(cpus[i]) : absl::StrCat(cpus[i], "-", cpus[j]));
    i = j + 1;
  }
  return absl::StrJoin(parts, ",");
}

absl::StatusOr<std::vector<int>> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) {
    return absl::InternalError(absl::StrCat("sched_getaffinity: ", std::strerror(errno)));
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

absl::Status PinProcessToCpus(const std::vector<int>& cpus) {
  absl::StatusOr<std::vector<int>> allowed = AllowedCpus();
  if (!allowed.ok()) return allowed.status();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (!std::binary_search(allowed->begin(), allowed->end(), cpu)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "CPU ", cpu, " is not one this worker may run on (", FormatCpuList(*allowed), ")"));
    }
    CPU_SET(cpu, &set);
  }
  if (cpus.empty()) return absl::InvalidArgumentError("an empty CPU list");
  return ForEachThread([&set](pid_t tid) -> absl::Status {
    if (::sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) {
      return absl::InternalError(
          absl::StrCat("sched_setaffinity of thread ", tid, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  });
}

absl::Status SetProcessCpuPolicy(int policy) {
  if (policy != SCHED_OTHER && policy != SCHED_BATCH) {
    return absl::InvalidArgumentError(
        absl::StrCat("scheduling policy ", policy, " is not SCHED_OTHER or SCHED_BATCH"));
  }
  return ForEachThread([policy](pid_t tid) -> absl::Status {
    const sched_param param{};
    if (::sched_setscheduler(tid, policy, &param) != 0 && errno != ESRCH) {
      return absl::InternalError(
          absl::StrCat("sched_setscheduler of thread ", tid, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int> CpuPolicyOf(pid_t tid) {
  const int policy = ::sched_getscheduler(tid);
  if (policy < 0) {
    return absl::InternalError(
        absl::StrCat("sched_getscheduler of ", tid, ": ", std::strerror(errno)));
  }
  return policy & ~SCHED_RESET_ON_FORK;
}

}  // namespace fsched::worker
