// The HTTP entry a daemon's config asks for (the http section), in front of
// the daemon's own gRPC server: one place where masters and workers turn
// http.* and tls.* into a running gateway. With tls.cert set it is HTTPS:
// the TLS terminator on http.listen, the gateway behind it on loopback.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "http/http_gateway.h"
#include "http/tls_terminator.h"

namespace fsched::http {

struct EntryRole {
  ServedServices served;
  std::string invoke_method;
};

/// A master's (or zone master's): every service, Controller.Invoke.
EntryRole MasterEntry();
/// A worker's: its Worker and Admin services, Worker.Invoke (routed as the
/// worker routes gRPC calls entering there: seed 001's edge entry).
EntryRole WorkerEntry();

class HttpEntry {
 public:
  /// The port clients connect to (the HTTPS one when TLS is on).
  int port() const { return tls_ ? tls_->port() : gateway_->port(); }
  /// "HTTP on port N ..." or "HTTPS on port N, relayed to ...", for the log.
  std::string Describe() const;
  /// Stops the TLS side first, then the gateway.
  ~HttpEntry();

 private:
  friend absl::StatusOr<std::unique_ptr<HttpEntry>> StartHttpEntry(const Config&, grpc::Server*,
                                                                   uint64_t, EntryRole);
  HttpEntry() = default;
  std::unique_ptr<HttpGateway> gateway_;
  std::unique_ptr<TlsTerminator> tls_;
};

/// Null when http.listen is empty. Bodies up to `max_body_bytes`. HTTPS with
/// the process's certificate when tls.cert is set (the PEM written into the
/// state directory), client certificates checked as gRPC checks them.
absl::StatusOr<std::unique_ptr<HttpEntry>> StartHttpEntry(const Config& config,
                                                          grpc::Server* server,
                                                          uint64_t max_body_bytes, EntryRole role);

}  // namespace fsched::http
