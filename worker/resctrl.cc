#include "worker/resctrl.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "worker/kernel_files.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

constexpr char kGroupPrefix[] = "fsched-";

// The pid in a group name "fsched-<pid>-<mask>", or 0.
pid_t OwnerOf(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kGroupPrefix)) return 0;
  int pid = 0;
  return absl::SimpleAtoi(name.substr(0, name.find('-')), &pid) ? pid : 0;
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// The "L3:..." line of a schemata text, without its newline; "" when none.
std::string L3Line(absl::string_view schemata) {
  for (absl::string_view line : absl::StrSplit(schemata, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "L3:")) return std::string(line);
  }
  return "";
}

}  // namespace

absl::StatusOr<L3Info> ReadL3Info(const std::string& root) {
  const std::string l3 = root + "/info/L3";
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0 || ::stat((root + "/info").c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("resctrl is not mounted at ", root, " (mount -t resctrl resctrl ", root,
                     "; the CPU and kernel must support cache allocation)"));
  }
  if (::stat(l3.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("resctrl at ", root,
                     " offers no L3 allocation (no info/L3: no L3 CAT, or mounted with "
                     "-o cdp, which fsched does not use)"));
  }
  L3Info info;
  absl::StatusOr<uint64_t> mask = ReadKernelNumber(l3 + "/cbm_mask", 16);
  absl::StatusOr<uint64_t> closids = ReadKernelNumber(l3 + "/num_closids");
  absl::StatusOr<uint64_t> min_bits = ReadKernelNumber(l3 + "/min_cbm_bits");
  for (const absl::Status& s : {mask.status(), closids.status(), min_bits.status()}) {
    if (!s.ok()) return absl::FailedPreconditionError(s.message());
  }
  info.cbm_mask = *mask;
  info.ways = static_cast<uint32_t>(std::popcount(info.cbm_mask));
  info.num_closids = static_cast<uint32_t>(*closids);
  info.min_cbm_bits = std::max<uint32_t>(static_cast<uint32_t>(*min_bits), 1);
  // Older kernels have no shareable_bits: nothing is shared then.
  if (absl::StatusOr<uint64_t> shareable = ReadKernelNumber(l3 + "/shareable_bits", 16);
      shareable.ok()) {
    info.shareable_bits = *shareable;
  }
  if (info.ways == 0 || info.num_closids < 2) {
    return absl::FailedPreconditionError(absl::StrCat("resctrl at ", root,
                                                      " leaves nothing to allocate (", info.ways,
                                                      " ways, ", info.num_closids, " CLOSIDs)"));
  }
  // The root group's "L3:0=fffff;1=fffff" names the cache ids.
  absl::StatusOr<std::string> schemata = ReadKernelFile(root + "/schemata");
  if (!schemata.ok()) return absl::FailedPreconditionError(schemata.status().message());
  const std::string l3_line = L3Line(*schemata);
  absl::string_view entries = l3_line;
  if (absl::ConsumePrefix(&entries, "L3:")) {
    for (absl::string_view entry : absl::StrSplit(entries, ';', absl::SkipWhitespace())) {
      uint32_t id = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(entry.substr(0, entry.find('='))), &id)) {
        info.cache_ids.push_back(id);
      }
    }
  }
  if (info.cache_ids.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(root, "/schemata has no L3 line: no cache to partition"));
  }
  return info;
}

absl::Status ValidateMask(uint64_t mask, const L3Info& info) {
  if (mask == 0 || (mask & ~info.cbm_mask) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cache mask %x is empty or outside the usable ways %x", mask, info.cbm_mask));
  }
  const uint64_t low = mask >> std::countr_zero(mask);
  if ((low & (low + 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cache mask %x is not one contiguous run of ways", mask));
  }
  if (static_cast<uint32_t>(std::popcount(mask)) < info.min_cbm_bits) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cache mask %x has fewer than the %d ways the hardware needs", mask, info.min_cbm_bits));
  }
  return absl::OkStatus();
}

std::string SchemataLine(uint64_t mask, const L3Info& info) {
  std::vector<std::string> entries;
  for (uint32_t id : info.cache_ids) entries.push_back(absl::StrFormat("%d=%x", id, mask));
  return absl::StrCat("L3:", absl::StrJoin(entries, ";"), "\n");
}

absl::StatusOr<std::unique_ptr<ResctrlAllocator>> ResctrlAllocator::Create(const std::string& root,
                                                                           ResctrlOptions options) {
  absl::StatusOr<L3Info> info = ReadL3Info(root);
  if (!info.ok()) return info.status();
  std::unique_ptr<ResctrlAllocator> allocator(new ResctrlAllocator(root, std::move(*info)));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    const pid_t owner = OwnerOf(name);
    if (owner == 0 || (owner != getpid() && Alive(owner))) continue;
    FSCHED_LOG(kInfo, "removing resctrl group %s left by a worker that died", name);
    allocator->RemoveGroup(name);
  }
  if (options.default_group_ways > 0) {
    RETURN_IF_ERROR(
        allocator->NarrowDefaultGroup(options.default_group_ways, options.saved_default_file));
  }
  return allocator;
}

ResctrlAllocator::~ResctrlAllocator() {
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, group] : groups_) RemoveGroup(name);
  }
  RestoreDefaultGroup();
}

absl::Status ResctrlAllocator::NarrowDefaultGroup(uint32_t ways, const std::string& saved_file) {
  ways = std::max(ways, info_.min_cbm_bits);
  if (ways + info_.min_cbm_bits > info_.ways) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "keeping %d of the %d L3 ways for the default resctrl group leaves less than the %d a "
        "partition needs: lower worker.default_group_ways (0 leaves the default group alone)",
        ways, info_.ways, info_.min_cbm_bits));
  }
  // The ways devices share (DDIO) are the ones the default group should keep:
  // fsched's partitions avoid them anyway. Ties go to the highest ways, so
  // partitions keep starting at way 0.
  const uint64_t run = ways >= 64 ? ~0ull : (1ull << ways) - 1;
  uint64_t mask = 0;
  int most_shared = -1;
  for (uint32_t start = 0; start + ways <= 64; ++start) {
    const uint64_t candidate = run << start;
    if ((candidate & ~info_.cbm_mask) != 0) continue;
    const int shared = std::popcount(candidate & info_.shareable_bits);
    if (shared >= most_shared) {
      mask = candidate;
      most_shared = shared;
    }
  }
  if (mask == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "no run of %d ways in the L3 mask %x for the default resctrl group", ways, info_.cbm_mask));
  }
  // A worker that was killed left the default group narrowed and its original
  // line behind: that line, not today's narrowed mask, is what to restore.
  std::string original;
  if (!saved_file.empty()) {
    if (absl::StatusOr<std::string> saved = ReadKernelFile(saved_file); saved.ok()) {
      original = L3Line(*saved);
      if (!original.empty()) {
        FSCHED_LOG(kWarning,
                   "the default resctrl group was left narrowed by a worker that did not stop "
                   "cleanly; restoring '%s' from %s on exit",
                   original, saved_file);
      }
    }
  }
  if (original.empty()) {
    absl::StatusOr<std::string> now = ReadKernelFile(root_ + "/schemata");
    if (!now.ok()) return absl::FailedPreconditionError(now.status().message());
    original = L3Line(*now);
  }
  if (!saved_file.empty()) {
    if (absl::Status s = WriteSecretFile(saved_file, original + "\n"); !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot keep the default resctrl group's mask to restore after a crash (",
                       s.message(), "): is the state directory writable?"));
    }
  }
  if (absl::Status s = WriteKernelFile(root_ + "/schemata", SchemataLine(mask, info_)); !s.ok()) {
    const std::string why = LastCommandStatus();
    if (!saved_file.empty()) std::remove(saved_file.c_str());
    return absl::FailedPreconditionError(
        absl::StrCat("cannot narrow the default resctrl group: ", s.message(),
                     why.empty() ? "" : absl::StrCat(" (resctrl: ", why, ")")));
  }
  default_mask_ = mask;
  pool_mask_ = info_.cbm_mask & ~mask;
  default_original_ = original;
  saved_default_file_ = saved_file;
  FSCHED_LOG(kInfo, "default resctrl group narrowed to L3 ways %x (was '%s'); partitions use %x",
             mask, original, pool_mask_);
  return absl::OkStatus();
}

void ResctrlAllocator::RestoreDefaultGroup() {
  if (default_mask_ == 0) return;
  if (absl::Status s = WriteKernelFile(root_ + "/schemata", default_original_ + "\n"); !s.ok()) {
    // The saved line stays for the next worker to restore.
    FSCHED_LOG(kWarning, "cannot restore the default resctrl group to '%s': %s", default_original_,
               s.message());
    return;
  }
  if (!saved_default_file_.empty()) std::remove(saved_default_file_.c_str());
  default_mask_ = 0;
}

uint32_t ResctrlAllocator::total_ways() const {
  return static_cast<uint32_t>(std::popcount(pool_mask_));
}

uint64_t ResctrlAllocator::UsedMask() const {
  uint64_t used = 0;
  for (const auto& [name, group] : groups_) used |= group.mask;
  return used;
}

uint32_t ResctrlAllocator::free_ways() const {
  absl::MutexLock lock(&mu_);
  return static_cast<uint32_t>(std::popcount(pool_mask_ & ~UsedMask()));
}

uint64_t ResctrlAllocator::FindRun(uint32_t ways, uint64_t used) const {
  if (ways == 0 || ways > 64) return 0;
  const uint64_t run = ways == 64 ? ~0ull : (1ull << ways) - 1;
  uint64_t best = 0;
  int best_shared = 65;
  for (uint32_t start = 0; start + ways <= 64; ++start) {
    const uint64_t mask = run << start;
    if ((mask & ~pool_mask_) != 0 || (mask & used) != 0) continue;
    const int shared = std::popcount(mask & info_.shareable_bits);
    if (shared < best_shared) {
      best = mask;
      best_shared = shared;
    }
  }
  return best;
}

std::string ResctrlAllocator::LastCommandStatus() const {
  absl::StatusOr<std::string> text = ReadKernelFile(root_ + "/info/last_cmd_status");
  return text.ok() ? std::string(absl::StripAsciiWhitespace(*text)) : std::string();
}

absl::Status ResctrlAllocator::CreateGroup(const std::string& name, uint64_t mask) const {
  const std::string dir = absl::StrCat(root_, "/", name);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot create resctrl group ", dir, ": ", std::strerror(error));
    return error == ENOSPC ? absl::ResourceExhaustedError(message)
                           : absl::FailedPreconditionError(message);
  }
  // The kernel makes schemata and tasks in a new group; a fake tree needs them made.
  if (absl::Status s = WriteKernelFile(dir + "/schemata", SchemataLine(mask, info_), true);
      !s.ok()) {
    const std::string why = LastCommandStatus();
    RemoveGroup(name);
    return absl::FailedPreconditionError(
        absl::StrCat(s.message(), why.empty() ? "" : absl::StrCat(" (resctrl: ", why, ")")));
  }
  return absl::OkStatus();
}

void ResctrlAllocator::RemoveGroup(const std::string& name) const {
  const std::string dir = absl::StrCat(root_, "/", name);
  // resctrl removes a group with its files and moves its tasks back to the
  // default group; a plain directory (a fake tree) needs its files removed.
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
  if (errno == ENOTEMPTY || errno == EEXIST) {
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(dir, ec)) {
      if (file.is_regular_file(ec)) fs::remove(file.path(), ec);
    }
    if (::rmdir(dir.c_str()) == 0) return;
  }
  FSCHED_LOG(kWarning, "cannot remove resctrl group %s: %s", dir, std::strerror(errno));
}

CacheGrant ResctrlAllocator::Allocate(const std::string& invocation, uint32_t ways) {
  CacheGrant grant;
  if (ways == 0) return grant;
  Release(invocation);  // one grant per invocation
  ways = std::clamp(ways, info_.min_cbm_bits, total_ways());
  absl::MutexLock lock(&mu_);
  const uint64_t used = UsedMask();
  const size_t groups_left = closids_exhausted_ ? 0 : info_.num_closids - 1 - groups_.size();
  uint64_t mask = 0;
  if (groups_left > 0) {
    // The ways asked for if a run of them is free, else the longest free run
    // that the hardware accepts: a smaller partition of its own.
    for (uint32_t w = ways; w >= info_.min_cbm_bits && mask == 0; --w) mask = FindRun(w, used);
  }
  if (mask != 0) {
    const std::string name = absl::StrFormat("%s%d-%x", kGroupPrefix, getpid(), mask);
    absl::Status created = CreateGroup(name, mask);
    if (created.ok()) {
      groups_[name] = Group{mask, {invocation}};
      group_of_[invocation] = name;
      grant.ways = static_cast<uint32_t>(std::popcount(mask));
      grant.mask = mask;
      grant.group = name;
      return grant;
    }
    // Someone else took the CLOSIDs (another resctrl user): share from now on.
    if (created.code() == absl::StatusCode::kResourceExhausted) closids_exhausted_ = true;
    FSCHED_LOG(kWarning, "invocation %s: %s", invocation, created.message());
  }
  // Share the group whose way count is nearest to the request, preferring
  // one at least as large.
  const Group* best = nullptr;
  std::string best_name;
  for (const auto& [name, group] : groups_) {
    const auto have = static_cast<int64_t>(std::popcount(group.mask));
    const int64_t distance = have >= ways ? have - ways : (ways - have) * 64;
    const auto best_have = best ? static_cast<int64_t>(std::popcount(best->mask)) : 0;
    const int64_t best_distance = best == nullptr     ? INT64_MAX
                                  : best_have >= ways ? best_have - ways
                                                      : (ways - best_have) * 64;
    if (distance < best_distance) {
      best = &group;
      best_name = name;
    }
  }
  if (best == nullptr) return grant;  // nothing to share: the default group
  groups_[best_name].users.insert(invocation);
  group_of_[invocation] = best_name;
  grant.ways = static_cast<uint32_t>(std::popcount(best->mask));
  grant.mask = best->mask;
  grant.shared = true;
  grant.group = best_name;
  return grant;
}

absl::Status ResctrlAllocator::AddTask(const std::string& invocation, pid_t pid) {
  std::string group;
  {
    absl::MutexLock lock(&mu_);
    auto it = group_of_.find(invocation);
    if (it == group_of_.end()) return absl::OkStatus();
    group = it->second;
  }
  // resctrl moves one thread per write, and threads a process starts later
  // inherit its group: a running process (a persistent instance, Node.js with
  // its helper threads) has every thread moved.
  std::vector<pid_t> threads = ThreadsOf(pid);
  if (threads.empty()) threads.push_back(pid);
  const std::string tasks = absl::StrCat(root_, "/", group, "/tasks");
  for (const pid_t tid : threads) {
    absl::Status s = WriteKernelFile(tasks, absl::StrCat(tid, "\n"), true);
    if (s.code() == absl::StatusCode::kNotFound && !absl::StrContains(s.message(), "open")) {
      continue;  // ESRCH: the thread already ended
    }
    RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

std::string ResctrlAllocator::TasksFile(const std::string& invocation) const {
  absl::MutexLock lock(&mu_);
  auto it = group_of_.find(invocation);
  return it == group_of_.end() ? "" : absl::StrCat(root_, "/", it->second, "/tasks");
}

void ResctrlAllocator::Release(const std::string& invocation) {
  absl::MutexLock lock(&mu_);
  auto it = group_of_.find(invocation);
  if (it == group_of_.end()) return;
  auto group = groups_.find(it->second);
  group_of_.erase(it);
  if (group == groups_.end()) return;
  group->second.users.erase(invocation);
  if (!group->second.users.empty()) return;
  RemoveGroup(group->first);
  groups_.erase(group);
}

std::map<std::string, std::set<std::string>> ResctrlAllocator::Groups() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [name, group] : groups_) out[name] = group.users;
  return out;
}

}  // namespace fsched::worker
