#include "master/master_config.h"

#include "common/proto_time.h"

namespace fsched::master {

absl::Status ValidateMasterConfig(const Config& config) {
  const ClusterConfig& c = config.cluster();
  if (FromProto(c.heartbeat_timeout()) <= FromProto(c.heartbeat_interval())) {
    return absl::InvalidArgumentError(
        "config: cluster.heartbeat_timeout: must be longer than cluster.heartbeat_interval");
  }
  const SchedulerConfig& s = config.scheduler();
  if (FromProto(s.default_timeout()) > FromProto(s.max_timeout())) {
    return absl::InvalidArgumentError(
        "config: scheduler.default_timeout: must not exceed scheduler.max_timeout");
  }
  return absl::OkStatus();
}

}  // namespace fsched::master
