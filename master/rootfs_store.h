// Root filesystem archives (tar) uploaded for runc functions, stored under the
// master's state directory by content: <dir>/<hex>.tar. An upload streams into
// a temporary file while it is hashed, and only a complete, verified archive
// is renamed into place, so a broken upload never shadows a good one. The
// archives together stay within a disk budget: to make room, the least
// recently used ones that no registered function names are deleted.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/sha256.h"
#include "fsched/v1/controller.pb.h"

namespace fsched::master {

class RootfsStore {
 public:
  /// Creates `dir` if needed. FAILED_PRECONDITION if it cannot. `max_bytes`
  /// bounds one archive, `budget_bytes` all of them (0 = no budget).
  static absl::StatusOr<std::unique_ptr<RootfsStore>> Open(std::string dir, uint64_t max_bytes,
                                                           uint64_t budget_bytes = 0);
  /// Whether a registered function names the archive: those are never
  /// deleted to make room. Set before the first upload; none = all may go.
  void set_in_use(std::function<bool(const std::string& digest)> in_use) {
    in_use_ = std::move(in_use);
  }

  class Upload {
   public:
    ~Upload();  // removes the temporary file unless committed
    /// RESOURCE_EXHAUSTED past the store's size limit.
    absl::Status Append(absl::string_view data);
    /// INVALID_ARGUMENT for a malformed digest, or one that differs from an earlier one.
    absl::Status Expect(const std::string& digest);
    /// DATA_LOSS if the bytes do not match the expected digest;
    /// INVALID_ARGUMENT for an empty upload; RESOURCE_EXHAUSTED when it does
    /// not fit the budget even without every archive no function names.
    absl::StatusOr<v1::Rootfs> Commit();

   private:
    friend class RootfsStore;
    Upload(const RootfsStore* store, std::string temp_path);
    const RootfsStore* store_;
    std::string temp_path_;
    std::ofstream out_;
    Sha256 hash_;
    uint64_t size_ = 0;
    std::string expected_;
    bool committed_ = false;
  };

  absl::StatusOr<std::unique_ptr<Upload>> Begin() const;
  bool Has(const std::string& digest) const;
  /// The archive's path; NOT_FOUND if it was never uploaded.
  absl::StatusOr<std::string> PathOf(const std::string& digest) const;
  /// PathOf, and the archive counts as just used (a worker fetches it).
  absl::StatusOr<std::string> Use(const std::string& digest) const;
  std::vector<v1::Rootfs> List() const;

 private:
  RootfsStore(std::string dir, uint64_t max_bytes, uint64_t budget_bytes)
      : dir_(std::move(dir)), max_bytes_(max_bytes), budget_bytes_(budget_bytes) {}
  /// Deletes unused archives, least recently used first, until `incoming`
  /// more bytes of `digest` fit the budget.
  absl::Status MakeRoom(const std::string& digest, uint64_t incoming) const;
  std::string dir_;
  uint64_t max_bytes_;
  uint64_t budget_bytes_;
  std::function<bool(const std::string& digest)> in_use_;
  mutable absl::Mutex commit_mu_;  // one commit (and its evictions) at a time
};

}  // namespace fsched::master
