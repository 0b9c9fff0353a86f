#include "common/tls_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "common/transport_security.h"

ABSL_FLAG(std::string, tls_ca, "",
          "TLS: CA bundle (PEM) the servers' certificates are checked against; turns TLS on");
ABSL_FLAG(std::string, tls_cert, "", "TLS: client certificate (PEM), where servers require one");
ABSL_FLAG(std::string, tls_key, "", "TLS: the client certificate's private key (PEM)");

namespace fsched {

absl::Status ApplyTlsFlags() {
  TlsConfig tls;
  tls.set_ca(absl::GetFlag(FLAGS_tls_ca));
  tls.set_cert(absl::GetFlag(FLAGS_tls_cert));
  tls.set_key(absl::GetFlag(FLAGS_tls_key));
  if (!TlsConfigured(tls)) return absl::OkStatus();
  return UseTls(tls);
}

}  // namespace fsched
