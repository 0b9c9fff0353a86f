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

/// What a request holds besides its payload (arguments, environment,
/// identifiers), and a result besides its output: the receive limit is the
/// payload limit plus this.
inline constexpr uint64_t kMessageEnvelopeBytes = 1 << 20;

/// The memory gRPC may hold for a server (its resource quota): 16 messages of
/// the largest size, at least 128 MiB.
uint64_t ServerMemoryQuota(uint64_t max_receive_bytes);

/// Builds and starts a server on `listen` ("host:port", port 0 = any) with
/// reflection, grpc.health.v1 and server-side keepalive enforcement. A
/// message larger than `max_receive_bytes` is refused with RESOURCE_EXHAUSTED
/// and not handed to any handler; gRPC's memory is bounded by
/// ServerMemoryQuota (streams past it are reset, also RESOURCE_EXHAUSTED).
/// \return UNAVAILABLE if the address cannot be bound, another process's
/// server on the same port included (no SO_REUSEPORT sharing).
absl::StatusOr<RunningServer> StartServer(const std::string& listen,
                                          const std::vector<grpc::Service*>& services,
                                          uint64_t max_receive_bytes);

}  // namespace fsched
