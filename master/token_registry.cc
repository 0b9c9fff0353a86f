#include "master/token_registry.h"

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/rate_limiter.h"
#include "common/status_macros.h"

namespace fsched::master {
namespace {

constexpr char kBootstrapName[] = "admin";

absl::Status ValidateName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63 &&
            ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'));
  for (char c : name) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token name '", name.substr(0, 80),
        "' must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"));
  }
  if (name == "cluster" || name == "anyone") {
    return absl::InvalidArgumentError(absl::StrCat(
        "token name '", name, "' is reserved (it names the cluster credential or an open node)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenRegistry>> TokenRegistry::Open(Options options) {
  std::unique_ptr<TokenRegistry> registry(new TokenRegistry(std::move(options)));
  ASSIGN_OR_RETURN(std::vector<v1::StoredToken> stored, registry->options_.store->LoadTokens());
  std::sort(stored.begin(), stored.end(), [](const v1::StoredToken& a, const v1::StoredToken& b) {
    return FromProto(a.info().created()) < FromProto(b.info().created());
  });
  absl::MutexLock lock(&registry->mu_);
  registry->tokens_ = std::move(stored);
  RETURN_IF_ERROR(registry->Bootstrap());
  registry->Publish();
  return registry;
}

absl::Status TokenRegistry::Bootstrap() {
  const std::string& path = options_.admin_token_file;
  v1::StoredToken* kept = nullptr;
  for (v1::StoredToken& t : tokens_) {
    if (t.info().name() == kBootstrapName) kept = &t;
  }
  if (kept != nullptr && kept->info().has_revoked()) {
    FSCHED_LOG(kWarning, "the bootstrap admin token was revoked; %s is not used", path);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> token = ReadTokenFile(path);
  bool generated = false;
  if (absl::IsNotFound(token.status())) {
    ASSIGN_OR_RETURN(token, NewToken());
    if (absl::Status s = WriteSecretFile(path, *token + "\n"); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("auth.admin_token_file: ", s.message()));
    }
    generated = true;
  } else if (!token.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("auth.admin_token_file: ", token.status().message()));
  }
  const std::string sha256 = TokenSha256(*token);
  if (kept != nullptr && kept->sha256() == sha256) return absl::OkStatus();
  if (kept == nullptr) {
    kept = &tokens_.emplace_back();
    kept->mutable_info()->set_name(kBootstrapName);
  }
  kept->mutable_info()->set_role(v1::ROLE_ADMIN);
  ToProto(options_.clock->Now(), kept->mutable_info()->mutable_created());
  kept->set_sha256(sha256);
  RETURN_IF_ERROR(options_.store->PutToken(*kept));
  FSCHED_LOG(kInfo, "%s the bootstrap admin token %s (fschedctl --token_file %s)",
             generated ? "wrote" : "took", generated ? "to " + path : "from " + path, path);
  return absl::OkStatus();
}

void TokenRegistry::Publish() {
  v1::TokenDirectory directory;
  for (const v1::StoredToken& t : tokens_) {
    if (t.info().has_revoked()) continue;
    v1::TokenHash* hash = directory.add_tokens();
    hash->set_name(t.info().name());
    hash->set_role(t.info().role());
    hash->set_sha256(t.sha256());
    if (t.info().has_rate()) *hash->mutable_rate() = t.info().rate();
  }
  options_.directory->Replace(directory);
}

absl::StatusOr<v1::CreatedToken> TokenRegistry::Create(const std::string& name, v1::Role role,
                                                       const v1::RateLimit& rate) {
  RETURN_IF_ERROR(ValidateName(name));
  RETURN_IF_ERROR(RateLimiter::Validate(rate));
  if (role != v1::ROLE_INVOKER && role != v1::ROLE_DEVELOPER && role != v1::ROLE_ADMIN) {
    return ParseTokenRole(RoleName(role)).status();
  }
  ASSIGN_OR_RETURN(std::string token, NewToken());
  absl::MutexLock lock(&mu_);
  for (const v1::StoredToken& t : tokens_) {
    if (t.info().name() == name) {
      return absl::AlreadyExistsError(absl::StrCat("a token named '", name, "' exists",
                                                   t.info().has_revoked() ? " (revoked)" : "",
                                                   "; names are never reused, so pick another"));
    }
  }
  v1::StoredToken stored;
  stored.mutable_info()->set_name(name);
  stored.mutable_info()->set_role(role);
  if (rate.requests_per_second() > 0) *stored.mutable_info()->mutable_rate() = rate;
  ToProto(options_.clock->Now(), stored.mutable_info()->mutable_created());
  stored.set_sha256(TokenSha256(token));
  RETURN_IF_ERROR(options_.store->PutToken(stored));
  tokens_.push_back(stored);
  Publish();
  v1::CreatedToken created;
  *created.mutable_info() = stored.info();
  created.set_token(std::move(token));
  return created;
}

std::vector<v1::TokenInfo> TokenRegistry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::TokenInfo> infos;
  infos.reserve(tokens_.size());
  for (const v1::StoredToken& t : tokens_) infos.push_back(t.info());
  return infos;
}

absl::StatusOr<v1::TokenInfo> TokenRegistry::Revoke(const std::string& name) {
  absl::MutexLock lock(&mu_);
  for (v1::StoredToken& t : tokens_) {
    if (t.info().name() != name) continue;
    if (t.info().has_revoked()) return t.info();
    v1::StoredToken revoked = t;
    ToProto(options_.clock->Now(), revoked.mutable_info()->mutable_revoked());
    RETURN_IF_ERROR(options_.store->PutToken(revoked));
    t = std::move(revoked);
    Publish();
    return t.info();
  }
  return absl::NotFoundError(
      absl::StrCat("no token named '", name.substr(0, 80), "' (fschedctl token list)"));
}

}  // namespace fsched::master
