// fsched-worker: runs functions for an fsched master.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/daemon.h"
#include "common/daemon_config.h"
#include "common/log.h"
#include "common/rpc.h"
#include "routing/routing_config.h"
#include "worker/worker_config.h"
#include "worker/worker_node.h"

// The flags every daemon shares (--config, --listen, --node_id, ...) are in
// common/daemon_flags.cc; these are the worker's own.
ABSL_FLAG(std::string, master, "", "master address host:port; overrides config worker.master");
ABSL_FLAG(int, slots, -1, "concurrent invocations (0 = number of cores); overrides config");
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
ABSL_FLAG(std::string, cpus, "",
          "CPUs this worker and its functions run on, e.g. 0-3,8; overrides config");
ABSL_FLAG(std::string, cpu_slices, "",
          "auto | on | off: ALPS's learned EEVDF time slices per call; overrides config");

namespace {

int Fail(const std::string& reason, int code = 2) {
  std::fprintf(stderr, "fsched-worker: %s\n", reason.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  fsched::SetDaemonUsage(
      "fsched-worker [--config FILE] [--master HOST:PORT] [--listen HOST:PORT] [--slots N] ...\n"
      "Joins an fsched master and runs the functions it assigns.");
  absl::ParseCommandLine(argc, argv);
  fsched::DisableLockCycleDetection();

  // A worker started without a file listens on any free port; with one, where the file says.
  fsched::DaemonConfigRequest request{
      fsched::config::v1::NODE_ROLE_WORKER, {}, {{"listen", "127.0.0.1:0"}}, {}};
  request.Override("worker.master", absl::GetFlag(FLAGS_master));
  request.Override("worker.runc", absl::GetFlag(FLAGS_runc));
  request.Override("worker.containerd", absl::GetFlag(FLAGS_containerd));
  request.Override("worker.containerd_address", absl::GetFlag(FLAGS_containerd_address));
  request.Override("worker.resctrl", absl::GetFlag(FLAGS_resctrl));
  request.Override("worker.resctrl_root", absl::GetFlag(FLAGS_resctrl_root));
  request.Override("worker.cpu_slices", absl::GetFlag(FLAGS_cpu_slices));
  request.Override("worker.cpus", absl::GetFlag(FLAGS_cpus));
  if (auto v = absl::GetFlag(FLAGS_cpu_priority); !v.empty()) {
    if (v != "on" && v != "off") return Fail("--cpu_priority must be on or off");
    request.Override("worker.cpu_priority", v == "on" ? "true" : "false");
  }
  if (int slots = absl::GetFlag(FLAGS_slots); slots >= 0) {
    request.Override("worker.slots", std::to_string(slots));
  }
  request.section_rules = {fsched::routing::ValidateRoutingConfig,
                           fsched::worker::ValidateWorkerConfig};
  absl::StatusOr<fsched::Config> loaded = fsched::LoadDaemonConfig(request);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const fsched::Config& config = *loaded;
  if (absl::Status applied = fsched::ApplyDaemonConfig(
          config, config.node().id().empty() ? "fsched-worker" : config.node().id());
      !applied.ok()) {
    return Fail(std::string(applied.message()));
  }

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
  if (absl::Status written = fsched::WriteServingPorts(
          config, (*node)->port(), (*node)->metrics_port(), (*node)->http_port());
      !written.ok()) {
    return Fail(std::string(written.message()));
  }
  std::cout << "fsched-worker " << (*node)->worker_id() << " listening on port " << (*node)->port()
            << std::endl;

  fsched::WaitForTerminationSignal(signals);
  (*node)->Shutdown();
  return 0;
}
