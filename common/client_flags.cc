#include "common/client_flags.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "common/auth.h"
#include "common/rpc.h"
#include "common/transport_security.h"

ABSL_FLAG(std::string, tls_ca, "",
          "TLS: CA bundle (PEM) the servers' certificates are checked against; turns TLS on");
ABSL_FLAG(std::string, tls_cert, "", "TLS: client certificate (PEM), where servers require one");
ABSL_FLAG(std::string, tls_key, "", "TLS: the client certificate's private key (PEM)");
ABSL_FLAG(std::string, token, "",
          "bearer token to call with (else $FSCHED_TOKEN, --token_file, $FSCHED_TOKEN_FILE, "
          "then ./fsched-state/admin.token if it exists)");
ABSL_FLAG(std::string, token_file, "", "file holding the bearer token (mode 0600)");

namespace fsched {

absl::StatusOr<std::string> ResolveClientToken() {
  if (std::string token = absl::GetFlag(FLAGS_token); !token.empty()) return token;
  if (const char* env = std::getenv("FSCHED_TOKEN"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  std::string file = absl::GetFlag(FLAGS_token_file);
  if (const char* env = std::getenv("FSCHED_TOKEN_FILE"); file.empty() && env != nullptr) {
    file = env;
  }
  if (!file.empty()) return ReadTokenFile(file);
  absl::StatusOr<std::string> local = ReadTokenFile("fsched-state/admin.token");
  if (absl::IsNotFound(local.status())) return std::string();
  return local;
}

absl::Status ApplyClientFlags() {
  TlsConfig tls;
  tls.set_ca(absl::GetFlag(FLAGS_tls_ca));
  tls.set_cert(absl::GetFlag(FLAGS_tls_cert));
  tls.set_key(absl::GetFlag(FLAGS_tls_key));
  if (TlsConfigured(tls)) {
    if (absl::Status s = UseTls(tls); !s.ok()) return s;
  }
  absl::StatusOr<std::string> token = ResolveClientToken();
  if (!token.ok()) return token.status();
  UseBearerToken(*token);
  return absl::OkStatus();
}

}  // namespace fsched
