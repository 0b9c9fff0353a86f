// Root filesystems named by digest (archives uploaded to the master), fetched
// once and unpacked under a cache directory that every worker on the host may
// share: <dir>/<hex>/rootfs, complete once <dir>/<hex>/complete exists. A
// per-digest lock (in the process, and flock across processes) makes
// concurrent first calls fetch it once.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace fsched::worker {

class RootfsCache {
 public:
  /// Writes the archive named `digest` to `path`.
  using Fetch = std::function<absl::Status(const std::string& digest, const std::string& path)>;
  RootfsCache(std::string dir, Fetch fetch) : dir_(std::move(dir)), fetch_(std::move(fetch)) {}

  /// The unpacked root filesystem. INVALID_ARGUMENT for a malformed digest,
  /// the fetch's error, DATA_LOSS when the archive's bytes do not hash to the
  /// digest, FAILED_PRECONDITION when tar cannot unpack it. Nothing
  /// half-unpacked is ever returned.
  absl::StatusOr<std::string> Get(const std::string& digest);

 private:
  absl::Status FetchAndUnpack(const std::string& digest, const std::string& root);
  const std::string dir_;
  const Fetch fetch_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<absl::Mutex>> locks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched::worker
