// fsched-worker: runs functions for an fsched master.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/transport_security.h"
#include "worker/worker_node.h"

ABSL_FLAG(std::string, config, "", "YAML configuration file (defaults are embedded)");
ABSL_FLAG(std::string, master, "", "master address host:port; overrides config worker.master");
ABSL_FLAG(std::string, architecture, "",
          "centralized | federated | decentralized | dynamic: how requests entering at this "
          "worker are routed; overrides config");
ABSL_FLAG(std::string, listen, "",
          "host:port for this worker's service (port 0 = any); overrides config");
ABSL_FLAG(std::string, join_token, "", "the cluster's join token; overrides config");
ABSL_FLAG(std::string, node_id, "", "this worker's id (default: hostname-port); overrides config");
ABSL_FLAG(std::string, zone, "", "this worker's zone; overrides config");
ABSL_FLAG(int, slots, -1, "concurrent invocations (0 = number of cores); overrides config");
ABSL_FLAG(std::string, advertise_address, "",
          "host:port other nodes reach this one at (e.g. the pod IP); overrides config");
ABSL_FLAG(std::string, port_file, "", "write the bound port to this file once serving");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of the Prometheus endpoint (port 0 = any; \"off\" = none); overrides config");
ABSL_FLAG(std::string, metrics_port_file, "", "write the bound metrics port to this file");
ABSL_FLAG(std::string, log_level, "", "debug | info | warning | error; overrides config");
ABSL_FLAG(std::string, state_dir, "", "where containers' state and bundles live; overrides config");
ABSL_FLAG(std::string, runc, "", "auto | on | off: the runc container runtime; overrides config");
ABSL_FLAG(std::string, containerd, "",
          "auto | on | off: the containerd container runtime; overrides config");
ABSL_FLAG(std::string, containerd_address, "",
          "containerd's socket (K3s: /run/k3s/containerd/containerd.sock); overrides config");
ABSL_FLAG(std::string, resctrl, "",
          "auto | on | off: LLC partitions through resctrl; overrides config");
ABSL_FLAG(std::string, resctrl_root, "",
          "where resctrl is mounted (default /sys/fs/resctrl); overrides config");
ABSL_FLAG(std::string, cpu_priority, "",
          "on | off: shortest-remaining-first CPU weights among containers; overrides config");

namespace {

int Fail(const std::string& reason, int code = 2) {
  std::fprintf(stderr, "fsched-worker: %s\n", reason.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fsched-worker [--config FILE] [--master HOST:PORT] [--listen HOST:PORT] [--slots N] ...\n"
      "Joins an fsched master and runs the functions it assigns.");
  absl::ParseCommandLine(argc, argv);
  fsched::DisableLockCycleDetection();

  fsched::Config config;
  config.node.role = "worker";
  config.listen = "127.0.0.1:0";
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    auto loaded = fsched::LoadConfigFile(path);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    config = *loaded;
    config.node.role = "worker";
  }
  if (auto v = absl::GetFlag(FLAGS_master); !v.empty()) config.worker.master = v;
  if (auto v = absl::GetFlag(FLAGS_architecture); !v.empty()) config.architecture = v;
  if (auto v = absl::GetFlag(FLAGS_listen); !v.empty()) config.listen = v;
  if (auto v = absl::GetFlag(FLAGS_join_token); !v.empty()) config.cluster.join_token = v;
  if (auto v = absl::GetFlag(FLAGS_node_id); !v.empty()) config.node.id = v;
  if (auto v = absl::GetFlag(FLAGS_zone); !v.empty()) config.node.zone = v;
  fsched::ApplyTopology(&config);
  if (auto v = absl::GetFlag(FLAGS_port_file); !v.empty()) config.port_file = v;
  if (auto v = absl::GetFlag(FLAGS_advertise_address); !v.empty()) config.advertise_address = v;
  if (auto v = absl::GetFlag(FLAGS_log_level); !v.empty()) config.log_level = v;
  if (auto v = absl::GetFlag(FLAGS_metrics_listen); !v.empty()) {
    config.metrics.listen = v == "off" ? "" : v;
  }
  if (auto v = absl::GetFlag(FLAGS_metrics_port_file); !v.empty()) config.metrics.port_file = v;
  if (auto v = absl::GetFlag(FLAGS_state_dir); !v.empty()) config.state_dir = v;
  if (auto v = absl::GetFlag(FLAGS_runc); !v.empty()) config.worker.runc = v;
  if (auto v = absl::GetFlag(FLAGS_containerd); !v.empty()) config.worker.containerd = v;
  if (auto v = absl::GetFlag(FLAGS_resctrl); !v.empty()) config.worker.resctrl = v;
  if (auto v = absl::GetFlag(FLAGS_resctrl_root); !v.empty()) config.worker.resctrl_root = v;
  if (auto v = absl::GetFlag(FLAGS_containerd_address); !v.empty()) {
    config.worker.containerd_address = v;
  }
  if (auto v = absl::GetFlag(FLAGS_cpu_priority); !v.empty()) {
    if (v != "on" && v != "off") return Fail("--cpu_priority must be on or off");
    config.worker.cpu_priority = v == "on";
  }
  if (int slots = absl::GetFlag(FLAGS_slots); slots >= 0) config.worker.slots = slots;
  if (absl::Status valid = fsched::ValidateConfig(config); !valid.ok()) {
    return Fail(std::string(valid.message()));
  }
  if (config.tls.enabled()) {
    if (absl::Status tls = fsched::UseTls(config.tls); !tls.ok()) {
      return Fail(std::string(tls.message()));
    }
  }
  fsched::ConfigureLogging(config, config.node.id.empty() ? "fsched-worker" : config.node.id);

  const sigset_t signals = fsched::BlockTerminationSignals();

  // A refused join token ends the process: retrying cannot fix a configuration error.
  auto node = fsched::worker::WorkerNode::Create(config, [](const absl::Status& status) {
    std::fprintf(stderr, "fsched-worker: the master refused this worker: %s\n",
                 std::string(status.message()).c_str());
    std::fflush(stderr);
    std::_Exit(fsched::worker::WorkerNode::kExitUnauthenticated);
  });
  if (!node.ok()) return Fail(std::string(node.status().message()));
  if (absl::Status started = (*node)->Start(); !started.ok()) {
    return Fail(std::string(started.message()));
  }
  fsched::SetLogTag((*node)->worker_id());
  if (absl::Status written =
          fsched::WriteServingPorts(config, (*node)->port(), (*node)->metrics_port());
      !written.ok()) {
    return Fail(std::string(written.message()));
  }
  std::cout << "fsched-worker " << (*node)->worker_id() << " listening on port " << (*node)->port()
            << std::endl;

  fsched::WaitForTerminationSignal(signals);
  (*node)->Shutdown();
  return 0;
}
