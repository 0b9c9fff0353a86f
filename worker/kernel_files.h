// Reading and writing the kernel's control files (cgroups, resctrl): one
// write() per value, as those files expect, and errno kept in the status,
// because the kernel's refusals (EINVAL, ENOSPC, ESRCH) mean different things.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsched::worker {

/// The whole file; NOT_FOUND when it cannot be opened.
absl::StatusOr<std::string> ReadKernelFile(const std::string& path);

/// The one number a file holds (trailing newline allowed), in `base` 10 or 16
/// (resctrl's masks). NOT_FOUND when unreadable, INTERNAL when not a number.
absl::StatusOr<uint64_t> ReadKernelNumber(const std::string& path, int base = 10);

/// Writes `value` in one write(). `create` makes the file if absent and
/// appends (fake trees in tests; the kernel's files always exist). Errors carry errno:
/// NOT_FOUND (ENOENT), INVALID_ARGUMENT (EINVAL), RESOURCE_EXHAUSTED (ENOSPC),
/// NOT_FOUND too for ESRCH (no such process), FAILED_PRECONDITION otherwise.
absl::Status WriteKernelFile(const std::string& path, absl::string_view value, bool create = false);

/// The thread ids of process `pid` (/proc/<pid>/task); empty when it is gone.
/// The kernel's per-task controls (resctrl tasks, sched_setattr) take one
/// thread at a time.
std::vector<pid_t> ThreadsOf(pid_t pid);

}  // namespace fsched::worker
