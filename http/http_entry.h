// The HTTP entry a daemon's config asks for (the http section), in front of
// the daemon's own gRPC server: one place where masters and workers turn
// http.* and tls.* into a running gateway.
#pragma once

#include <grpcpp/server.h>

#include <memory>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "http/http_gateway.h"

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

/// Null when http.listen is empty. Bodies up to `max_body_bytes`; HTTPS with
/// the process's certificate when tls.cert is set (the PEM written into the
/// state directory), or FAILED_PRECONDITION when the HTTP library cannot.
absl::StatusOr<std::unique_ptr<HttpGateway>> StartHttpEntry(const Config& config,
                                                            grpc::Server* server,
                                                            uint64_t max_body_bytes,
                                                            EntryRole role);

}  // namespace fsched::http
