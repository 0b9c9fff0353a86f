#include "common/transport_security.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"

namespace fsched {
namespace {

struct Credentials {
  std::shared_ptr<grpc::ServerCredentials> server;
  std::shared_ptr<grpc::ChannelCredentials> channel;
  std::string server_name;
};

absl::Mutex& CredentialsMutex() {
  static absl::Mutex mu;
  return mu;
}

Credentials& Current() ABSL_EXCLUSIVE_LOCKS_REQUIRED(CredentialsMutex()) {
  static Credentials* current =
      new Credentials{grpc::InsecureServerCredentials(), grpc::InsecureChannelCredentials(), ""};
  return *current;
}

bool& Enabled() ABSL_EXCLUSIVE_LOCKS_REQUIRED(CredentialsMutex()) {
  static bool enabled = false;
  return enabled;
}

absl::Status ReadPem(const std::string& path, const char* what, std::string* out) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("tls.", what, ": cannot read '", path, "'"));
  std::ostringstream text;
  text << in.rdbuf();
  *out = text.str();
  if (out->find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.", what, ": '", path, "' is not a PEM file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UseTls(const TlsConfig& files) {
  if (files.cert().empty() != files.key().empty()) {
    return absl::InvalidArgumentError(
        "tls.cert and tls.key go together: give both (or neither, for a client-only process)");
  }
  if (files.require_client_cert() && files.ca().empty()) {
    return absl::InvalidArgumentError(
        "tls.require_client_cert needs tls.ca, the CA client certificates must be signed by");
  }
  std::string cert, key, ca;
  if (absl::Status s = ReadPem(files.cert(), "cert", &cert); !s.ok()) return s;
  if (absl::Status s = ReadPem(files.key(), "key", &key); !s.ok()) return s;
  if (absl::Status s = ReadPem(files.ca(), "ca", &ca); !s.ok()) return s;

  grpc::SslCredentialsOptions channel_options;
  channel_options.pem_root_certs = ca;
  channel_options.pem_private_key = key;
  channel_options.pem_cert_chain = cert;
  Credentials next;
  next.channel = grpc::SslCredentials(channel_options);
  if (!cert.empty()) {
    grpc::SslServerCredentialsOptions server_options(
        files.require_client_cert() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    server_options.pem_root_certs = ca;
    server_options.pem_key_cert_pairs.push_back({key, cert});
    next.server = grpc::SslServerCredentials(server_options);
  }
  absl::MutexLock lock(&CredentialsMutex());
  if (next.server) Current().server = next.server;
  Current().channel = next.channel;
  Current().server_name = files.server_name();
  Enabled() = true;
  return absl::OkStatus();
}

absl::Status WriteCertificateAndKey(const TlsConfig& files, const std::string& path) {
  if (files.cert().empty() || files.key().empty()) {
    return absl::InvalidArgumentError("tls.cert and tls.key are both needed to serve TLS");
  }
  std::string cert, key;
  if (absl::Status s = ReadPem(files.cert(), "cert", &cert); !s.ok()) return s;
  if (absl::Status s = ReadPem(files.key(), "key", &key); !s.ok()) return s;
  if (!cert.empty() && cert.back() != '\n') cert += '\n';
  return WriteSecretFile(path, cert + key);
}

bool TlsConfigured(const TlsConfig& files) { return !files.cert().empty() || !files.ca().empty(); }

bool TlsEnabled() {
  absl::MutexLock lock(&CredentialsMutex());
  return Enabled();
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials() {
  absl::MutexLock lock(&CredentialsMutex());
  return Current().server;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() {
  absl::MutexLock lock(&CredentialsMutex());
  return Current().channel;
}

std::string TlsServerName() {
  absl::MutexLock lock(&CredentialsMutex());
  return Current().server_name;
}

}  // namespace fsched
