// SHA-256 (OpenSSL's EVP) and the "sha256:<64 hex>" digests that name root
// filesystem archives between fschedctl, the master and the workers.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fsched {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view data);
  /// "sha256:<hex>" of everything so far. Ends the hash.
  std::string Digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

/// OK for "sha256:" followed by 64 lowercase hex digits; INVALID_ARGUMENT
/// naming `field` otherwise.
absl::Status ValidateDigest(absl::string_view digest, absl::string_view field = "digest");

/// The 64 hex digits of a valid digest.
inline std::string DigestHex(absl::string_view digest) {
  return std::string(digest.substr(digest.find(':') + 1));
}

}  // namespace fsched
