#include "master/master_config.h"

#include "common/proto_time.h"

namespace fsched::master {

absl::Status ValidateMasterConfig(const Config& config) {
  const ClusterConfig& c = config.cluster();
  if (FromProto(c.heartbeat_timeout()) <= FromProto(c.heartbeat_interval())) {
    return absl::InvalidArgumentError(
        "config: cluster.heartbeat_timeout: must be longer than cluster.heartbeat_interval");
  }
  if (c.rootfs_budget_bytes() > 0 && c.rootfs_budget_bytes() < c.max_rootfs_bytes()) {
    return absl::InvalidArgumentError(
        "config: cluster.rootfs_budget_bytes: must be at least cluster.max_rootfs_bytes (or 0 "
        "for no budget)");
  }
  const SchedulerConfig& s = config.scheduler();
  if (FromProto(s.default_timeout()) > FromProto(s.max_timeout())) {
    return absl::InvalidArgumentError(
        "config: scheduler.default_timeout: must not exceed scheduler.max_timeout");
  }
  return absl::OkStatus();
}

}  // namespace fsched::master
