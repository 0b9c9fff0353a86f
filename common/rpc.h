// Client-side RPC helpers: channels whose keepalive agrees with StartServer
// (server.h), port files and addresses.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fsched {

// Client pings every 10 s; the server must permit pings at least that often,
// or it answers GOAWAY "too_many_pings" (gRPC doc/keepalive.md).
inline constexpr int kKeepaliveTimeMs = 10000;
inline constexpr int kKeepaliveTimeoutMs = 5000;
inline constexpr int kServerMinPingIntervalMs = 5000;

/// A channel with client keepalive matching StartServer's policy, over TLS
/// once UseTls was called (transport_security.h), plain TCP otherwise. Its
/// calls carry the bearer token last given to UseBearerToken, unless a call
/// sets its own "authorization" header.
/// `credentials` replaces the process's transport credentials for this channel
/// (a test dialling as another client); null = the process's.
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target, std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

/// The credential of every channel MakeChannel makes from now on: a node's
/// cluster credential, or a client's token. Empty = none.
void UseBearerToken(const std::string& token);

/// Writes `port` followed by a newline to `path` atomically (write + rename),
/// so a reader never sees a partial number.
absl::Status WritePortFile(const std::string& path, int port);

/// Replaces the port of "host:port" (used to derive an advertise address).
std::string WithPort(const std::string& host_port, int port);

}  // namespace fsched
