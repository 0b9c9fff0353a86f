// Root filesystems named by digest (archives uploaded to the master), fetched
// once and unpacked under a cache directory that every worker on the host may
// share: <dir>/<hex>/rootfs, complete once <dir>/<hex>/complete exists (it
// records the unpacked size). A per-digest lock (in the process, and flock of
// <hex>.lock across processes) makes concurrent first calls fetch it once.
//
// The cache stays within a disk budget. Whoever uses a root filesystem (a
// call, a warm instance, a container) holds a Lease, which holds a shared
// flock on <hex>.use; eviction takes that lock exclusively without waiting,
// so nothing in use by any worker on the host is ever deleted. When the
// complete ones exceed the budget, the least recently used ones that nobody
// holds go first; what is in use may keep the cache above its budget until
// it is released.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace fsched::worker {

class RootfsCache {
 public:
  /// Writes the archive named `digest` to `path`.
  using Fetch = std::function<absl::Status(const std::string& digest, const std::string& path)>;
  class Shared;

  /// A root filesystem in use: it stays on disk while the lease lives. May
  /// outlive the cache.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Release(); }
    /// The unpacked root filesystem (empty for a default-constructed lease).
    const std::string& path() const { return path_; }
    void Release();

   private:
    friend class RootfsCache;
    std::shared_ptr<Shared> shared_;
    std::string hex_;
    std::string path_;
  };

  /// `budget_bytes` bounds the unpacked root filesystems this worker keeps
  /// (0: unbounded). Removes what a crashed fetch left behind, then evicts
  /// down to the budget.
  RootfsCache(std::string dir, uint64_t budget_bytes, Fetch fetch);
  ~RootfsCache();

  /// The unpacked root filesystem, held until the lease is dropped.
  /// INVALID_ARGUMENT for a malformed digest, the fetch's error, DATA_LOSS
  /// when the archive's bytes do not hash to the digest, FAILED_PRECONDITION
  /// when tar cannot unpack it. Nothing half-unpacked is ever returned.
  absl::StatusOr<Lease> Get(const std::string& digest);

  /// Bytes of the complete root filesystems on disk now (those of every
  /// worker sharing the directory).
  uint64_t DiskBytes() const;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace fsched::worker
