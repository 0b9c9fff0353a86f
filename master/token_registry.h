// The master's bearer tokens: created, listed and revoked by admins, kept
// hashed in the function store, and published to a TokenDirectory (the one the
// master's Gate reads and its workers and zone masters receive). On open, the
// bootstrap admin token comes from its file, or is generated into it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/token_directory.h"
#include "fsched/v1/auth.pb.h"
#include "master/function_store.h"

namespace fsched::master {

class TokenRegistry {
 public:
  struct Options {
    FunctionStore* store = nullptr;
    TokenDirectory* directory = nullptr;  // published to after every change
    const Clock* clock = nullptr;
    // The bootstrap admin token's file (see AuthConfig.admin_token_file).
    std::string admin_token_file;
  };
  /// The bootstrap token is named "admin". Its file is authoritative: a file
  /// holding another token (a rotated Kubernetes Secret) replaces the kept
  /// hash; a missing file gets a new token, unless an admin revoked "admin".
  /// FAILED_PRECONDITION when the file is unreadable or cannot be written.
  static absl::StatusOr<std::unique_ptr<TokenRegistry>> Open(Options options);

  /// INVALID_ARGUMENT for a bad name or role; ALREADY_EXISTS for a name in use
  /// (revoked ones included).
  /// `rate`: requests per second the token's holder may make on each node (none by default).
  absl::StatusOr<v1::CreatedToken> Create(const std::string& name, v1::Role role,
                                          const v1::RateLimit& rate = {});
  std::vector<v1::TokenInfo> List() const;
  /// NOT_FOUND for an unknown name; revoking twice answers the first revocation.
  absl::StatusOr<v1::TokenInfo> Revoke(const std::string& name);

 private:
  explicit TokenRegistry(Options options) : options_(std::move(options)) {}
  absl::Status Bootstrap() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  std::vector<v1::StoredToken> tokens_ ABSL_GUARDED_BY(mu_);  // in creation order
};

}  // namespace fsched::master
