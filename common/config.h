// One YAML configuration format for every fsched process (master, edge master,
// worker), extending seed 001's architecture.yaml. Unknown keys are errors, so a
// typo never silently falls back to a default.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsched {

struct NodeConfig {
  std::string id;               // empty = derived from host name (and port for workers)
  std::string role = "master";  // master | edge | worker
  std::string zone = "default";
  // A zone (edge) master's parent: the cloud master it announces itself to and
  // mirrors functions from. Required for role edge, refused otherwise.
  std::string parent;
  std::map<std::string, std::string> labels;
};

/// Delay added to each request fsched forwards between its nodes, to make a
/// one-machine topology behave like a distributed one (seed 001's testbed:
/// 10 ms in a zone, 20 ms across zones, 60 ms to the cloud). An emulation: the
/// sender waits half before sending and half before returning the answer; the
/// master-to-worker assignment stream is not delayed. All zero = off.
struct NetworkEmulationConfig {
  absl::Duration same_zone;
  absl::Duration cross_zone;
  absl::Duration cloud;                         // to or from the cloud master
  std::map<std::string, absl::Duration> nodes;  // per peer (node id); overrides the above
};

struct TopologyEntry {
  std::string id;
  std::string address;
  std::string role;  // cloud-controller | edge-controller | worker
  std::string zone;
};

struct ClusterConfig {
  std::string join_token;  // shared by master and workers; empty = open cluster
  absl::Duration heartbeat_interval = absl::Seconds(1);
  absl::Duration heartbeat_timeout = absl::Seconds(5);  // silence before a worker is dead
  absl::Duration register_timeout = absl::Seconds(10);  // a stream must register within it
  absl::Duration add_worker_timeout = absl::Seconds(10);
  uint64_t max_rootfs_bytes = 2ull << 30;  // largest root filesystem archive the master stores
};

struct SchedulerConfig {
  std::string queue_order = "aging-srtf";
  std::string placement = "round-robin";
  absl::Duration default_timeout = absl::Seconds(60);  // per invocation, unless the function says
  absl::Duration max_timeout = absl::Minutes(15);
  absl::Duration queue_timeout = absl::Minutes(5);  // queued longer -> REJECTED
  uint64_t max_queue = 100000;                      // more -> RESOURCE_EXHAUSTED
  uint64_t max_payload_bytes = 6 * 1024 * 1024;
  uint64_t retained_results = 100000;           // finished invocations kept for Get/Wait
  uint32_t max_attempts = 3;                    // re-queues after a lost worker
  double aging_rate = 0.1;                      // aging-srtf: seconds of priority per second waited
  absl::Duration max_wait = absl::Seconds(30);  // aging-srtf: waited longer -> first
  absl::Duration default_estimate = absl::Seconds(2);  // prediction for an unseen function
  uint32_t predictor_history = 64;                     // samples kept per function and size
  // A queued invocation predicted to need more than preempt_gap less than a
  // running one's remaining time freezes it, on workers that can freeze.
  bool preemption = true;
  absl::Duration preempt_gap = absl::Seconds(4);
};

struct WorkerConfig {
  std::string master;               // master address; empty = wait for Join
  uint32_t slots = 0;               // 0 = number of cores
  std::string runtime = "process";  // runs functions that name no runtime
  // The runc runtime: "auto" (on where runc can run containers, with the reason
  // logged where not), "on" (refuse to start without it), "off".
  std::string runc = "auto";
  std::string shim;  // fsched-shim; empty = next to the fsched-worker binary
  // The containerd runtime (image-based functions): auto, on or off, like runc.
  std::string containerd = "auto";
  std::string containerd_address =
      "/run/containerd/containerd.sock";        // K3s: /run/k3s/containerd/containerd.sock
  std::string containerd_namespace = "fsched";  // images must be in this namespace
  // LLC partitions through resctrl: auto (where it is mounted with L3
  // allocation, the reason logged where not), on (refuse to start without), off.
  std::string resctrl = "auto";
  std::string resctrl_root = "/sys/fs/resctrl";
  absl::Duration keep_alive = absl::Minutes(10);  // idle warm containers, unless the function says
  uint64_t warm_memory_bytes = 1ull << 30;        // budget for idle warm containers
  // Shortest-remaining-first CPU weights among running containers (ALPS).
  bool cpu_priority = true;
  uint32_t container_uid = 65534;  // functions run as nobody:nogroup
  uint32_t container_gid = 65534;
  uint64_t output_limit_bytes = 1024 * 1024;
  absl::Duration reconnect_min = absl::Milliseconds(200);
  absl::Duration reconnect_max = absl::Seconds(10);
};

/// fsched-sim's virtual cluster (read only by fsched-sim).
struct SimulatorConfig {
  uint32_t workers = 10;
  uint32_t slots = 4;                                   // per worker
  absl::Duration cold_start = absl::Milliseconds(500);  // added when no warm instance is idle
  absl::Duration keep_alive = absl::Minutes(10);        // an idle instance stays warm this long
};

/// The dynamic architecture selector's thresholds (seed 001's tail_scheduler
/// block, which the seed never read): tail ratios P95/P50 where traffic starts
/// (soft) and finishes (hard) moving decentralized -> federated (d2f) and
/// federated -> centralized (f2c).
struct TailSchedulerConfig {
  double soft_d2f = 1.5, hard_d2f = 2.5;
  double soft_f2c = 1.7, hard_f2c = 2.7;
  uint32_t min_samples = 10;                          // per window before a ratio counts
  absl::Duration sample_interval = absl::Seconds(2);  // between ratio updates
  double offload_load_threshold = 0.8;                // busy fraction of slots before offloading
};

/// INVALID_ARGUMENT (naming the field) unless every ratio is at least 1, each
/// soft is below its hard, min_samples >= 2, the interval >= 100 ms and the
/// offload threshold in (0, 1].
absl::Status ValidateTailScheduler(const TailSchedulerConfig& t);

/// The Prometheus endpoint every process serves (http://listen/metrics).
struct MetricsConfig {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 = any free port; empty = off
  std::string port_file;               // if set, the bound metrics port is written there
  // Distinct function names used as label values; later ones are counted under "_other".
  uint32_t max_function_labels = 200;
};

/// TLS for every gRPC server and channel of a process (off while cert is empty).
struct TlsConfig {
  std::string cert;  // PEM certificate chain this process presents (server, and client for mTLS)
  std::string key;   // its PEM private key
  std::string ca;    // PEM CA bundle peers are verified against; empty = the system's roots
  // Servers refuse clients without a certificate signed by `ca` (mutual TLS).
  bool require_client_cert = false;
  // The name every peer's certificate is checked for, instead of the address
  // dialled: nodes are dialled by pod IP, so in Kubernetes one cluster-wide
  // name (a SAN in every node's certificate) stands in. Empty = the address.
  std::string server_name;
  bool enabled() const { return !cert.empty() || !ca.empty(); }
};

struct Config {
  std::string architecture = "centralized";
  NodeConfig node;
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 = any free port
  std::string advertise_address;           // how others reach this node; empty = from listen
  std::string state_dir = "fsched-state";
  std::string port_file;  // if set, the bound port is written there
  std::string log_level = "info";
  ClusterConfig cluster;
  SchedulerConfig scheduler;
  WorkerConfig worker;
  SimulatorConfig simulator;
  TailSchedulerConfig tail_scheduler;
  NetworkEmulationConfig network_emulation;
  MetricsConfig metrics;
  TlsConfig tls;
  std::vector<TopologyEntry> topology;
};

/// Parses YAML text. An empty document yields the defaults.
/// \return INVALID_ARGUMENT naming the offending key and value.
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text);

/// Reads and parses a file. NOT_FOUND if it cannot be read.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

/// Checks cross-field rules (after flags were applied).
absl::Status ValidateConfig(const Config& config);

/// Seed 001's architecture.yaml: the same topology list on every node. The
/// entry whose id is node.id gives this node's zone (when unset) and, for a
/// master, its role; the cloud controller's address becomes a zone master's
/// parent and a worker's master where those are unset. Call after flags.
void ApplyTopology(Config* config);

/// Renders the effective configuration; the join token is redacted.
std::string ConfigToYaml(const Config& config);

/// Parses "500ms", "2s", "1m30s"; also a bare number of seconds.
absl::StatusOr<absl::Duration> ParseDurationText(const std::string& text);

/// Parses "1048576", "64KiB", "1MiB", "2GiB", "1MB".
absl::StatusOr<uint64_t> ParseByteSize(const std::string& text);

}  // namespace fsched
