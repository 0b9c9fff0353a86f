#include "common/sha256.h"

#include <openssl/evp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fsched {

struct Sha256::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Context() { EVP_MD_CTX_free(ctx); }
};

namespace {

// OpenSSL 3 looks a digest up in its provider store on every init that names
// it with EVP_sha256() (a lock and a property query, most of a token check's
// time); fetched once, the lookup is gone. EVP_sha256() remains the fallback.
const EVP_MD* Sha256Algorithm() {
  static const EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

}  // namespace

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  EVP_DigestInit_ex(context_->ctx, Sha256Algorithm(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(absl::string_view data) {
  EVP_DigestUpdate(context_->ctx, data.data(), data.size());
}

std::string Sha256::Digest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(context_->ctx, out, &len);
  return absl::StrCat("sha256:",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(out), len)));
}

absl::Status ValidateDigest(absl::string_view digest, absl::string_view field) {
  constexpr absl::string_view kPrefix = "sha256:";
  bool ok = absl::StartsWith(digest, kPrefix) && digest.size() == kPrefix.size() + 64;
  for (size_t i = kPrefix.size(); ok && i < digest.size(); ++i) {
    ok = absl::ascii_isxdigit(digest[i]) && !absl::ascii_isupper(digest[i]);
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, " '", digest, "' is not a digest of the form sha256:<64 lowercase hex digits>"));
}

}  // namespace fsched
