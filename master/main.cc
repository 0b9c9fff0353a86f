// fsched-master: the cluster manager, controller and scheduler of an fsched cluster.
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/daemon.h"
#include "common/daemon_config.h"
#include "common/log.h"
#include "common/rpc.h"
#include "master/master.h"
#include "master/master_config.h"
#include "routing/routing_config.h"

// The flags every daemon shares (--config, --listen, --node_id, ...) are in
// common/daemon_flags.cc; these are the master's own.
ABSL_FLAG(std::string, role, "",
          "master | zone-master (a master of one zone under --parent); overrides config");
ABSL_FLAG(std::string, parent, "", "a zone master's master, host:port; overrides config");

namespace {

int Fail(const std::string& reason) {
  std::fprintf(stderr, "fsched-master: %s\n", reason.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  fsched::SetDaemonUsage(
      "fsched-master [--config FILE] [--listen HOST:PORT] [--state_dir DIR] ...\n"
      "Serves the fsched Controller, Cluster, Admin and WorkerLink APIs.");
  absl::ParseCommandLine(argc, argv);
  fsched::DisableLockCycleDetection();

  fsched::DaemonConfigRequest request{fsched::config::v1::NODE_ROLE_MASTER, {}, {}, {}};
  request.Override("node.role", absl::GetFlag(FLAGS_role));
  request.Override("node.parent", absl::GetFlag(FLAGS_parent));
  request.section_rules = {fsched::routing::ValidateRoutingConfig,
                           fsched::master::ValidateMasterConfig};
  absl::StatusOr<fsched::Config> loaded = fsched::LoadDaemonConfig(request);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const fsched::Config& config = *loaded;
  if (absl::Status applied = fsched::ApplyDaemonConfig(config, config.node().id()); !applied.ok()) {
    return Fail(std::string(applied.message()));
  }

  const sigset_t signals = fsched::BlockTerminationSignals();

  auto master = fsched::master::Master::Create(config);
  if (!master.ok()) return Fail(std::string(master.status().message()));
  if (absl::Status started = (*master)->Start(); !started.ok()) {
    return Fail(std::string(started.message()));
  }
  if (absl::Status written = fsched::WriteServingPorts(
          config, (*master)->port(), (*master)->metrics_port(), (*master)->http_port());
      !written.ok()) {
    return Fail(std::string(written.message()));
  }
  std::cout << "fsched-master listening on " << (*master)->advertise_address() << std::endl;

  fsched::WaitForTerminationSignal(signals);
  (*master)->Shutdown();
  return 0;
}
