// Transport security for every gRPC server and channel of one process: plain
// TCP by default, TLS (optionally mutual) once UseTls is called. Process-wide
// because a node's servers and its dials to other nodes share one identity;
// StartServer and MakeChannel read it, so no call site chooses credentials.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/config.h"

namespace fsched {

/// Reads the files and makes every later StartServer serve TLS and every
/// later MakeChannel dial TLS. A client-only process (fschedctl) may leave
/// cert and key empty unless the servers require client certificates.
/// NOT_FOUND naming an unreadable file; INVALID_ARGUMENT for a cert without
/// its key (or the reverse), or require_client_cert without a CA.
absl::Status UseTls(const TlsConfig& files);

/// Writes tls.cert and tls.key into one PEM file at `path`, readable by its
/// owner only: what servers that take them together (civetweb) read.
absl::Status WriteCertificateAndKey(const TlsConfig& files, const std::string& path);

/// Whether the files turn TLS on (a certificate or a CA given).
bool TlsConfigured(const TlsConfig& files);

bool TlsEnabled();
std::shared_ptr<grpc::ServerCredentials> ServerCredentials();
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials();
/// tls.server_name: the name peers' certificates are checked for; empty = the address.
std::string TlsServerName();

}  // namespace fsched
