#include "common/token_directory.h"

#include <google/protobuf/util/message_differencer.h>

namespace fsched {

std::optional<v1::Identity> TokenDirectory::Find(const std::string& sha256) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto it = by_sha256_.find(sha256);
  if (it == by_sha256_.end()) return std::nullopt;
  return it->second;
}

void TokenDirectory::Replace(const v1::TokenDirectory& directory) {
  absl::flat_hash_map<std::string, v1::Identity> by_sha256;
  v1::TokenDirectory kept;
  for (const v1::TokenHash& token : directory.tokens()) {
    // The cluster's role is never a token's: a directory cannot grant it.
    if (token.role() != v1::ROLE_INVOKER && token.role() != v1::ROLE_DEVELOPER &&
        token.role() != v1::ROLE_ADMIN) {
      continue;
    }
    v1::Identity identity;
    identity.set_name(token.name());
    identity.set_role(token.role());
    identity.set_source("token");
    if (token.has_rate()) *identity.mutable_rate() = token.rate();
    by_sha256[token.sha256()] = std::move(identity);
    *kept.add_tokens() = token;
  }
  absl::MutexLock lock(&mu_);
  if (version_ > 0 && google::protobuf::util::MessageDifferencer::Equals(kept, directory_)) return;
  by_sha256_ = std::move(by_sha256);
  directory_ = std::move(kept);
  ++version_;
}

v1::TokenDirectory TokenDirectory::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return directory_;
}

uint64_t TokenDirectory::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

}  // namespace fsched
