// Server construction shared by every fsched process: reflection,
// grpc.health.v1, keepalive enforcement that agrees with MakeChannel, and
// port-0 readback. Its own library so clients do not link the reflection plugin.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fsched {

struct RunningServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the port actually bound (meaningful when asked for port 0)
};

/// Builds and starts a server on `listen` ("host:port", port 0 = any) with
/// reflection, grpc.health.v1 and server-side keepalive enforcement.
/// \return UNAVAILABLE if the address cannot be bound.
absl::StatusOr<RunningServer> StartServer(const std::string& listen,
                                          const std::vector<grpc::Service*>& services);

}  // namespace fsched
