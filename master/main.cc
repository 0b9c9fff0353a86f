// fsched-master: the cluster manager, controller and scheduler of an fsched cluster.
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/transport_security.h"
#include "master/master.h"

ABSL_FLAG(std::string, config, "", "YAML configuration file (defaults are embedded)");
ABSL_FLAG(std::string, listen, "",
          "host:port to serve on (port 0 = any free port); overrides config");
ABSL_FLAG(std::string, state_dir, "", "directory for durable state; overrides config");
ABSL_FLAG(std::string, join_token, "", "token workers must present; overrides config");
ABSL_FLAG(std::string, node_id, "", "this master's id; overrides config");
ABSL_FLAG(std::string, role, "",
          "master (the cloud master) | edge (a zone master); overrides config");
ABSL_FLAG(std::string, zone, "", "this master's zone; overrides config");
ABSL_FLAG(std::string, parent, "", "a zone master's cloud master host:port; overrides config");
ABSL_FLAG(std::string, architecture, "",
          "centralized | federated | decentralized | dynamic: how requests entering here are "
          "routed; overrides config");
ABSL_FLAG(std::string, advertise_address, "",
          "host:port other nodes reach this one at (e.g. the pod IP); overrides config");
ABSL_FLAG(std::string, port_file, "", "write the bound port to this file once serving");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of the Prometheus endpoint (port 0 = any; \"off\" = none); overrides config");
ABSL_FLAG(std::string, metrics_port_file, "", "write the bound metrics port to this file");
ABSL_FLAG(std::string, log_level, "", "debug | info | warning | error; overrides config");

namespace {

int Fail(const std::string& reason) {
  std::fprintf(stderr, "fsched-master: %s\n", reason.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fsched-master [--config FILE] [--listen HOST:PORT] [--state_dir DIR] ...\n"
      "Serves the fsched Controller, Cluster, Admin and WorkerLink APIs.");
  absl::ParseCommandLine(argc, argv);
  fsched::DisableLockCycleDetection();

  fsched::Config config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    auto loaded = fsched::LoadConfigFile(path);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    config = *loaded;
  }
  if (auto v = absl::GetFlag(FLAGS_listen); !v.empty()) config.listen = v;
  if (auto v = absl::GetFlag(FLAGS_state_dir); !v.empty()) config.state_dir = v;
  if (auto v = absl::GetFlag(FLAGS_join_token); !v.empty()) config.cluster.join_token = v;
  if (auto v = absl::GetFlag(FLAGS_node_id); !v.empty()) config.node.id = v;
  if (auto v = absl::GetFlag(FLAGS_port_file); !v.empty()) config.port_file = v;
  if (auto v = absl::GetFlag(FLAGS_advertise_address); !v.empty()) config.advertise_address = v;
  if (auto v = absl::GetFlag(FLAGS_log_level); !v.empty()) config.log_level = v;
  if (auto v = absl::GetFlag(FLAGS_metrics_listen); !v.empty()) {
    config.metrics.listen = v == "off" ? "" : v;
  }
  if (auto v = absl::GetFlag(FLAGS_metrics_port_file); !v.empty()) config.metrics.port_file = v;
  if (config.node.role == "worker") config.node.role = "master";
  if (auto v = absl::GetFlag(FLAGS_role); !v.empty()) config.node.role = v;
  if (auto v = absl::GetFlag(FLAGS_zone); !v.empty()) config.node.zone = v;
  if (auto v = absl::GetFlag(FLAGS_parent); !v.empty()) config.node.parent = v;
  if (auto v = absl::GetFlag(FLAGS_architecture); !v.empty()) config.architecture = v;
  fsched::ApplyTopology(&config);
  if (config.node.role == "worker") {
    return Fail("--role worker: run fsched-worker for a worker; a master is master or edge");
  }
  if (config.node.id.empty()) {
    config.node.id = config.node.role == "edge" ? "edge-" + config.node.zone : "master";
  }
  if (absl::Status valid = fsched::ValidateConfig(config); !valid.ok()) {
    return Fail(std::string(valid.message()));
  }
  if (config.tls.enabled()) {
    if (absl::Status tls = fsched::UseTls(config.tls); !tls.ok()) {
      return Fail(std::string(tls.message()));
    }
  }
  fsched::ConfigureLogging(config, config.node.id);

  const sigset_t signals = fsched::BlockTerminationSignals();

  auto master = fsched::master::Master::Create(config);
  if (!master.ok()) return Fail(std::string(master.status().message()));
  if (absl::Status started = (*master)->Start(); !started.ok()) {
    return Fail(std::string(started.message()));
  }
  if (absl::Status written =
          fsched::WriteServingPorts(config, (*master)->port(), (*master)->metrics_port());
      !written.ok()) {
    return Fail(std::string(written.message()));
  }
  std::cout << "fsched-master listening on " << (*master)->advertise_address() << std::endl;

  fsched::WaitForTerminationSignal(signals);
  (*master)->Shutdown();
  return 0;
}
