#include "worker/cgroup.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

}  // namespace fsched::worker
