// The TLS flags of fsched's client tools (fschedctl, fsched-bench), defined
// once: --tls_ca, --tls_cert, --tls_key.
#pragma once

#include "absl/status/status.h"

namespace fsched {

/// Turns TLS on for every channel of this process when --tls_ca or --tls_cert
/// is given (see UseTls); does nothing otherwise.
absl::Status ApplyTlsFlags();

}  // namespace fsched
