#include "common/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/transport_security.h"
#include "grpc/health/v1/health.pb.h"

namespace fsched {

uint64_t ServerMemoryQuota(uint64_t max_receive_bytes) {
  return std::max<uint64_t>(128 << 20, 16 * max_receive_bytes);
}

absl::StatusOr<RunningServer> StartServer(const std::string& listen,
                                          const std::vector<grpc::Service*>& services,
                                          uint64_t max_receive_bytes) {
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's own health service carries no descriptors: linking these lets
  // reflection resolve grpc.health.v1.Health, so grpcurl can call it.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  RunningServer running;
  builder.AddListeningPort(listen, ServerCredentials(), &running.port);
  // gRPC binds with SO_REUSEPORT by default: a second daemon on a taken port
  // (two workers started from one config file) would start, and the kernel
  // would split the port's connections between the two. Off, it is refused.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kServerMinPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<uint64_t>(max_receive_bytes, std::numeric_limits<int>::max())));
  // gRPC checks a message's size only once it has arrived whole: without a
  // quota, one client sending a huge message makes the server buffer all of
  // it. The quota bounds what gRPC holds in memory; past it, streams are reset.
  grpc::ResourceQuota quota("fsched-server");
  quota.Resize(ServerMemoryQuota(max_receive_bytes));
  builder.SetResourceQuota(quota);
  for (grpc::Service* service : services) builder.RegisterService(service);
  running.server = builder.BuildAndStart();
  if (!running.server || running.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on '", listen, "' (address in use or not local?)"));
  }
  return running;
}

}  // namespace fsched
