#include "worker/cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "worker/kernel_files.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

// "key value" lines (memory.oom_control, memory.events): the value of `key`.
absl::StatusOr<uint64_t> KeyedValue(const std::string& path, absl::string_view key) {
  absl::StatusOr<std::string> text = ReadKernelFile(path);
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t value = 0;
    if (kv.first == key && absl::SimpleAtoi(kv.second, &value)) return value;
  }
  return absl::NotFoundError(absl::StrCat(path, " has no ", key, " line (kernel too old?)"));
}

absl::Status EnableFunctionControllers(const fs::path& dir) {
  for (const char* controller : Cgroups::kFunctionControllers) {
    if (absl::Status s = WriteKernelFile((dir / "cgroup.subtree_control").string(),
                                         absl::StrCat("+", controller));
        !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot enable the ", controller, " controller: ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Cgroups::Cgroups(std::string root) : root_(std::move(root)) {
  std::error_code ec;
  unified_ = fs::exists(fs::path(root_) / "cgroup.controllers", ec);
}

std::string Cgroups::Path(absl::string_view controller, absl::string_view cgroup,
                          absl::string_view file) const {
  const absl::string_view relative = absl::StripPrefix(cgroup, "/");
  if (unified_) return absl::StrCat(root_, "/", relative, "/", file);
  return absl::StrCat(root_, "/", controller, "/", relative, "/", file);
}

absl::StatusOr<uint64_t> Cgroups::OomKills(absl::string_view cgroup) const {
  if (unified_) return KeyedValue(Path("", cgroup, "memory.events"), "oom_kill");
  return KeyedValue(Path("memory", cgroup, "memory.oom_control"), "oom_kill");
}

absl::StatusOr<uint64_t> Cgroups::CpuUsageNs(absl::string_view cgroup) const {
  if (!unified_) return ReadKernelNumber(Path("cpuacct", cgroup, "cpuacct.usage"));
  absl::StatusOr<uint64_t> us = KeyedValue(Path("", cgroup, "cpu.stat"), "usage_usec");
  if (!us.ok()) return us.status();
  return *us * 1000;
}

absl::StatusOr<uint64_t> Cgroups::MemoryUsage(absl::string_view cgroup) const {
  if (unified_) return ReadKernelNumber(Path("", cgroup, "memory.current"));
  return ReadKernelNumber(Path("memory", cgroup, "memory.usage_in_bytes"));
}

uint64_t Cgroups::SharesToWeight(uint64_t shares) {
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

absl::Status Cgroups::SetCpuShares(absl::string_view cgroup, uint64_t shares) const {
  if (unified_)
    return WriteKernelFile(Path("", cgroup, "cpu.weight"), absl::StrCat(SharesToWeight(shares)));
  return WriteKernelFile(Path("cpu", cgroup, "cpu.shares"), absl::StrCat(shares));
}

absl::StatusOr<uint64_t> Cgroups::CpuShares(absl::string_view cgroup) const {
  if (unified_) return ReadKernelNumber(Path("", cgroup, "cpu.weight"));
  return ReadKernelNumber(Path("cpu", cgroup, "cpu.shares"));
}

absl::Status Cgroups::SetPidsMax(absl::string_view cgroup, uint64_t max) const {
  return WriteKernelFile(Path(unified_ ? "" : "pids", cgroup, "pids.max"), absl::StrCat(max));
}

void Cgroups::RemoveIfEmpty(absl::string_view cgroup) const {
  if (unified_) {
    ::rmdir(Path("", cgroup, "").c_str());
    return;
  }
  std::error_code ec;
  for (const auto& controller : fs::directory_iterator(root_, ec)) {
    ::rmdir(Path(controller.path().filename().string(), cgroup, "").c_str());
  }
}

absl::Status Cgroups::Create(absl::string_view cgroup) const {
  std::error_code ec;
  if (unified_) {
    const fs::path dir = Path("", cgroup, "");
    fs::create_directories(dir, ec);
    if (ec)
      return absl::FailedPreconditionError(
          absl::StrCat("cannot make cgroup ", dir.string(), ": ", ec.message()));
    // Controllers reach a v2 cgroup only through every ancestor's subtree_control.
    fs::path ancestor = root_;
    for (const fs::path& part :
         fs::path(std::string(absl::StripPrefix(cgroup, "/"))).parent_path()) {
      RETURN_IF_ERROR(EnableFunctionControllers(ancestor));
      ancestor /= part;
    }
    RETURN_IF_ERROR(EnableFunctionControllers(ancestor));
    return absl::OkStatus();
  }
  for (const char* controller : kFunctionControllers) {
    const std::string dir = Path(controller, cgroup, "");
    fs::create_directories(dir, ec);
    if (ec)
      return absl::FailedPreconditionError(
          absl::StrCat("cannot make cgroup ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status Cgroups::SetMemoryMax(absl::string_view cgroup, uint64_t bytes) const {
  // No swap beyond the limit either (where the kernel accounts it), so the
  // limit is what the function gets rather than a point where it slows down.
  std::error_code ec;
  if (unified_) {
    RETURN_IF_ERROR(
        WriteKernelFile(Path("", cgroup, "memory.max"), bytes == 0 ? "max" : absl::StrCat(bytes)));
    const std::string swap = Path("", cgroup, "memory.swap.max");
    return fs::exists(swap, ec) ? WriteKernelFile(swap, bytes == 0 ? "max" : "0")
                                : absl::OkStatus();
  }
  const std::string value = bytes == 0 ? "-1" : absl::StrCat(bytes);
  const std::string memory = Path("memory", cgroup, "memory.limit_in_bytes");
  const std::string memsw = Path("memory", cgroup, "memory.memsw.limit_in_bytes");
  if (!fs::exists(memsw, ec)) return WriteKernelFile(memory, value);
  // v1 keeps memory <= memory+swap at every step: lift the latter first.
  RETURN_IF_ERROR(WriteKernelFile(memsw, "-1"));
  RETURN_IF_ERROR(WriteKernelFile(memory, value));
  return WriteKernelFile(memsw, value);
}

absl::Status Cgroups::SetCpuMax(absl::string_view cgroup, double cores) const {
  constexpr uint64_t kPeriodUs = 100000;
  // The kernel's floor for a quota is 1 ms.
  const uint64_t quota =
      std::max<uint64_t>(1000, static_cast<uint64_t>(std::llround(cores * kPeriodUs)));
  if (unified_) {
    return WriteKernelFile(Path("", cgroup, "cpu.max"), cores <= 0
                                                            ? absl::StrCat("max ", kPeriodUs)
                                                            : absl::StrCat(quota, " ", kPeriodUs));
  }
  RETURN_IF_ERROR(
      WriteKernelFile(Path("cpu", cgroup, "cpu.cfs_period_us"), absl::StrCat(kPeriodUs)));
  return WriteKernelFile(Path("cpu", cgroup, "cpu.cfs_quota_us"),
                         cores <= 0 ? "-1" : absl::StrCat(quota));
}

absl::StatusOr<std::vector<int>> Cgroups::OpenProcs(absl::string_view cgroup) const {
  std::vector<std::string> paths;
  if (unified_) {
    paths.push_back(Path("", cgroup, "cgroup.procs"));
  } else {
    for (const char* controller : kFunctionControllers)
      paths.push_back(Path(controller, cgroup, "cgroup.procs"));
  }
  std::vector<int> fds;
  for (const std::string& path : paths) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      for (int open_fd : fds) ::close(open_fd);
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open ", path, ": ", std::strerror(error)));
    }
    fds.push_back(fd);
  }
  return fds;
}

std::vector<int> Cgroups::Processes(absl::string_view cgroup) const {
  std::vector<int> pids;
  absl::StatusOr<std::string> text =
      ReadKernelFile(Path(unified_ ? "" : "pids", cgroup, "cgroup.procs"));
  if (!text.ok()) return pids;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    int pid = 0;
    if (absl::SimpleAtoi(line, &pid) && pid > 0) pids.push_back(pid);
  }
  return pids;
}

}  // namespace fsched::worker
