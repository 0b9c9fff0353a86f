// The live tokens a node accepts, as SHA-256 hashes: the master's own
// (refreshed by its token registry on every change), a worker's and a zone
// master's (what their master last sent). Read on every call, replaced whole.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/auth.pb.h"

namespace fsched {

class TokenDirectory {
 public:
  /// The holder of the token whose hex SHA-256 is `sha256`; nullopt when the
  /// token is unknown (or was revoked: revoked tokens are not in a directory).
  std::optional<v1::Identity> Find(const std::string& sha256) const;

  /// Replaces every entry; entries with a role a token cannot have are skipped.
  void Replace(const v1::TokenDirectory& directory);
  v1::TokenDirectory Snapshot() const;
  /// Bumped by every Replace that changed the entries (0 before the first).
  uint64_t version() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, v1::Identity> by_sha256_ ABSL_GUARDED_BY(mu_);
  v1::TokenDirectory directory_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fsched
