// Last-level-cache partitions through Linux resctrl (Intel CAT, AMD L3
// allocation). Each running invocation that asks for cache ways gets a
// contiguous run of ways of its own, written as a capacity bitmask into the
// schemata of a resctrl group that its processes join. Groups are keyed by
// mask: the hardware has few CLOSIDs (num_closids, the default group included),
// so when they run out an invocation joins the existing group whose way count
// is nearest to what it asked for, rather than going without. The root is
// configurable: tests lay out a fake tree like the kernel's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace fsched::worker {

/// What resctrl says about the L3 cache (info/L3 and the root schemata).
struct L3Info {
  uint64_t cbm_mask = 0;            // every way that may be allocated
  uint32_t ways = 0;                // bits in cbm_mask
  uint32_t num_closids = 0;         // groups the hardware can tell apart, the default one included
  uint32_t min_cbm_bits = 1;        // the shortest run a mask may have
  uint64_t shareable_bits = 0;      // ways other agents (I/O, GPUs) may also fill
  std::vector<uint32_t> cache_ids;  // one L3 per id (socket or CCX); masks apply to each
};

/// Reads info/L3 and the L3 line of the root schemata under `root`.
/// FAILED_PRECONDITION saying what to do where resctrl is not mounted there
/// or offers no L3 allocation.
absl::StatusOr<L3Info> ReadL3Info(const std::string& root);

/// INVALID_ARGUMENT unless `mask` is one contiguous run of at least
/// min_cbm_bits ways inside cbm_mask (what the kernel accepts on Intel).
absl::Status ValidateMask(uint64_t mask, const L3Info& info);

/// The "L3:<id>=<hex>;..." schemata line for `mask` on every cache id.
std::string SchemataLine(uint64_t mask, const L3Info& info);

/// What one invocation was given.
struct CacheGrant {
  uint32_t ways = 0;  // 0: no partition, the invocation runs in the default group
  uint64_t mask = 0;
  bool shared = false;  // no CLOSID or ways were left: it shares a group's partition
  std::string group;    // the resctrl group's directory name
};

/// Gives invocations cache partitions; an interface so the executor and tests
/// can run without resctrl.
class CacheAllocator {
 public:
  virtual ~CacheAllocator() = default;
  virtual uint32_t total_ways() const = 0;
  /// Ways no running invocation holds.
  virtual uint32_t free_ways() const = 0;
  /// Partitions `ways` ways for `invocation` (an invocation holds one grant at
  /// a time). Never fails the invocation: without a partition the grant has 0 ways.
  virtual CacheGrant Allocate(const std::string& invocation, uint32_t ways) = 0;
  /// Moves every thread of process `pid` (and so the children and threads it
  /// starts later) into the invocation's group.
  virtual absl::Status AddTask(const std::string& invocation, pid_t pid) = 0;
  /// The tasks file of the invocation's group, for a process about to exec to
  /// join itself; "" when it has no group.
  virtual std::string TasksFile(const std::string& invocation) const = 0;
  /// Ends the invocation's grant; a group nobody uses any more is removed.
  virtual void Release(const std::string& invocation) = 0;
};

struct ResctrlOptions {
  /// Ways the default group (the OS, the worker, every call without a
  /// partition) keeps while the allocator lives; the other ways are only ever
  /// given to fsched's partitions, so those are exclusive of everything else.
  /// 0 leaves the default group's mask alone (partitions then share their ways
  /// with it). Raised to min_cbm_bits where the hardware needs more.
  uint32_t default_group_ways = 0;
  /// Where the default group's L3 line is kept while it is narrowed, so that a
  /// worker started after one that was killed restores the real original, not
  /// the narrowed mask. "" = kept only in memory.
  std::string saved_default_file;
};

class ResctrlAllocator final : public CacheAllocator {
 public:
  /// Reads the L3 description, removes groups that workers which died left
  /// (named fsched-<pid>-…, with no such process) and narrows the default
  /// group as `options` say. FAILED_PRECONDITION where resctrl cannot be used,
  /// with the reason.
  static absl::StatusOr<std::unique_ptr<ResctrlAllocator>> Create(const std::string& root,
                                                                  ResctrlOptions options = {});
  ~ResctrlAllocator() override;  // removes this worker's groups, restores the default group

  const L3Info& info() const { return info_; }
  /// The ways partitions are made of: every way but the default group's when
  /// it is narrowed.
  uint64_t pool_mask() const { return pool_mask_; }
  /// The default group's mask while narrowed, else 0.
  uint64_t default_group_mask() const { return default_mask_; }
  uint32_t total_ways() const override;
  uint32_t free_ways() const override;
  CacheGrant Allocate(const std::string& invocation, uint32_t ways) override;
  absl::Status AddTask(const std::string& invocation, pid_t pid) override;
  std::string TasksFile(const std::string& invocation) const override;
  void Release(const std::string& invocation) override;

  /// The groups in use: directory name -> invocations in it.
  std::map<std::string, std::set<std::string>> Groups() const;

 private:
  ResctrlAllocator(std::string root, L3Info info)
      : root_(std::move(root)), info_(std::move(info)), pool_mask_(info_.cbm_mask) {}
  // Gives the default group `ways` ways (those it shares with devices first)
  // and remembers its L3 line to restore.
  absl::Status NarrowDefaultGroup(uint32_t ways, const std::string& saved_file);
  void RestoreDefaultGroup();
  struct Group {
    uint64_t mask = 0;
    std::set<std::string> users;
  };
  // The free run of `ways` ways that overlaps the shareable ways least, or 0.
  uint64_t FindRun(uint32_t ways, uint64_t used) const;
  // The mask of every group in use.
  uint64_t UsedMask() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // mkdir and schemata; the kernel's reason when it refuses.
  absl::Status CreateGroup(const std::string& name, uint64_t mask) const;
  void RemoveGroup(const std::string& name) const;
  std::string LastCommandStatus() const;

  const std::string root_;
  const L3Info info_;
  uint64_t pool_mask_;
  uint64_t default_mask_ = 0;
  std::string default_original_;  // the default group's L3 line before it was narrowed
  std::string saved_default_file_;
  mutable absl::Mutex mu_;
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> group_of_ ABSL_GUARDED_BY(mu_);  // invocation -> group
  bool closids_exhausted_ ABSL_GUARDED_BY(mu_) = false;               // the kernel said ENOSPC
};

}  // namespace fsched::worker
