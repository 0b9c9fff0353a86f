// The flags of fsched's client tools (fschedctl, fsched-bench), defined once:
// TLS (--tls_ca, --tls_cert, --tls_key) and the caller's token (--token,
// --token_file).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsched {

/// Turns TLS on for every channel of this process when --tls_ca or --tls_cert
/// is given (see UseTls), and gives every channel the caller's token
/// (ResolveClientToken). Errors name the flag or file at fault.
absl::Status ApplyClientFlags();

/// The token a client calls with: --token, $FSCHED_TOKEN, the file named by
/// --token_file or $FSCHED_TOKEN_FILE, else ./fsched-state/admin.token (the
/// bootstrap token of a master started in this directory on defaults) when it
/// exists; empty when there is none.
absl::StatusOr<std::string> ResolveClientToken();

}  // namespace fsched
