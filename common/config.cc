#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace fsched {
namespace {

const std::set<std::string> kRoles = {"master", "edge", "worker"};
const std::set<std::string> kTopologyRoles = {"cloud-controller", "edge-controller", "worker"};
const std::set<std::string> kArchitectures = {"centralized", "federated", "decentralized",
                                              "dynamic"};

absl::Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", where, ": ", what));
}

absl::Status CheckKeys(const YAML::Node& node, const std::string& where,
                       const std::set<std::string>& allowed) {
  if (!node.IsMap()) return Invalid(where, "expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      return Invalid(where.empty() ? key : where + "." + key,
                     absl::StrCat("unknown key (allowed: ", absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadString(const YAML::Node& parent, const char* key, const std::string& where,
                        std::string* out) {
  const YAML::Node node = parent[key];
  if (!node) return absl::OkStatus();
  if (!node.IsScalar()) return Invalid(where + key, "expected a string");
  *out = node.as<std::string>();
  return absl::OkStatus();
}

absl::Status ReadDuration(const YAML::Node& parent, const char* key, const std::string& where,
                          absl::Duration* out, bool zero_allowed = false) {
  std::string text;
  const YAML::Node node = parent[key];
  if (!node) return absl::OkStatus();
  RETURN_IF_ERROR(ReadString(parent, key, where, &text));
  auto parsed = ParseDurationText(text);
  if (!parsed.ok()) return Invalid(where + key, std::string(parsed.status().message()));
  if (zero_allowed && *parsed < absl::ZeroDuration()) {
    return Invalid(where + key, "must not be negative");
  }
  if (!zero_allowed && *parsed <= absl::ZeroDuration()) {
    return Invalid(where + key, "must be positive");
  }
  *out = *parsed;
  return absl::OkStatus();
}

absl::Status ReadBytes(const YAML::Node& parent, const char* key, const std::string& where,
                       uint64_t* out) {
  std::string text;
  if (!parent[key]) return absl::OkStatus();
  RETURN_IF_ERROR(ReadString(parent, key, where, &text));
  auto parsed = ParseByteSize(text);
  if (!parsed.ok()) return Invalid(where + key, std::string(parsed.status().message()));
  *out = *parsed;
  return absl::OkStatus();
}

template <typename Int>
absl::Status ReadUint(const YAML::Node& parent, const char* key, const std::string& where,
                      Int* out) {
  std::string text;
  if (!parent[key]) return absl::OkStatus();
  RETURN_IF_ERROR(ReadString(parent, key, where, &text));
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value > std::numeric_limits<Int>::max()) {
    return Invalid(where + key, absl::StrCat("'", text, "' is not a non-negative integer"));
  }
  *out = static_cast<Int>(value);
  return absl::OkStatus();
}

absl::Status ReadDouble(const YAML::Node& parent, const char* key, const std::string& where,
                        double* out) {
  std::string text;
  if (!parent[key]) return absl::OkStatus();
  RETURN_IF_ERROR(ReadString(parent, key, where, &text));
  if (!absl::SimpleAtod(text, out) || !std::isfinite(*out)) {
    return Invalid(where + key, absl::StrCat("'", text, "' is not a number"));
  }
  return absl::OkStatus();
}

absl::Status ReadBool(const YAML::Node& parent, const char* key, const std::string& where,
                      bool* out) {
  std::string text;
  if (!parent[key]) return absl::OkStatus();
  RETURN_IF_ERROR(ReadString(parent, key, where, &text));
  if (text == "true") {
    *out = true;
  } else if (text == "false") {
    *out = false;
  } else {
    return Invalid(where + key, absl::StrCat("'", text, "' is not true or false"));
  }
  return absl::OkStatus();
}

absl::Status ParseNode(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["node"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(n, "node", {"id", "role", "zone", "parent", "labels"}));
  RETURN_IF_ERROR(ReadString(n, "id", "node.", &config->node.id));
  RETURN_IF_ERROR(ReadString(n, "parent", "node.", &config->node.parent));
  RETURN_IF_ERROR(ReadString(n, "role", "node.", &config->node.role));
  RETURN_IF_ERROR(ReadString(n, "zone", "node.", &config->node.zone));
  if (const YAML::Node labels = n["labels"]) {
    if (!labels.IsMap()) return Invalid("node.labels", "expected a mapping of strings");
    for (const auto& kv : labels) {
      config->node.labels[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }
  return absl::OkStatus();
}

absl::Status ParseCluster(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["cluster"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(n, "cluster",
                            {"join_token", "heartbeat_interval", "heartbeat_timeout",
                             "register_timeout", "add_worker_timeout", "max_rootfs_bytes"}));
  ClusterConfig& c = config->cluster;
  RETURN_IF_ERROR(ReadString(n, "join_token", "cluster.", &c.join_token));
  RETURN_IF_ERROR(ReadDuration(n, "heartbeat_interval", "cluster.", &c.heartbeat_interval));
  RETURN_IF_ERROR(ReadDuration(n, "heartbeat_timeout", "cluster.", &c.heartbeat_timeout));
  RETURN_IF_ERROR(ReadDuration(n, "register_timeout", "cluster.", &c.register_timeout));
  RETURN_IF_ERROR(ReadDuration(n, "add_worker_timeout", "cluster.", &c.add_worker_timeout));
  RETURN_IF_ERROR(ReadBytes(n, "max_rootfs_bytes", "cluster.", &c.max_rootfs_bytes));
  return absl::OkStatus();
}

absl::Status ParseScheduler(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["scheduler"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(
      n, "scheduler",
      {"queue_order", "placement", "default_timeout", "max_timeout", "queue_timeout", "max_queue",
       "max_payload_bytes", "retained_results", "max_attempts", "aging_rate", "max_wait",
       "default_estimate", "predictor_history", "preemption", "preempt_gap"}));
  SchedulerConfig& s = config->scheduler;
  RETURN_IF_ERROR(ReadString(n, "queue_order", "scheduler.", &s.queue_order));
  RETURN_IF_ERROR(ReadString(n, "placement", "scheduler.", &s.placement));
  RETURN_IF_ERROR(ReadDuration(n, "default_timeout", "scheduler.", &s.default_timeout));
  RETURN_IF_ERROR(ReadDuration(n, "max_timeout", "scheduler.", &s.max_timeout));
  RETURN_IF_ERROR(ReadDuration(n, "queue_timeout", "scheduler.", &s.queue_timeout));
  RETURN_IF_ERROR(ReadUint(n, "max_queue", "scheduler.", &s.max_queue));
  RETURN_IF_ERROR(ReadBytes(n, "max_payload_bytes", "scheduler.", &s.max_payload_bytes));
  RETURN_IF_ERROR(ReadUint(n, "retained_results", "scheduler.", &s.retained_results));
  RETURN_IF_ERROR(ReadUint(n, "max_attempts", "scheduler.", &s.max_attempts));
  RETURN_IF_ERROR(ReadDouble(n, "aging_rate", "scheduler.", &s.aging_rate));
  RETURN_IF_ERROR(ReadDuration(n, "max_wait", "scheduler.", &s.max_wait));
  RETURN_IF_ERROR(ReadDuration(n, "default_estimate", "scheduler.", &s.default_estimate));
  RETURN_IF_ERROR(ReadUint(n, "predictor_history", "scheduler.", &s.predictor_history));
  RETURN_IF_ERROR(ReadBool(n, "preemption", "scheduler.", &s.preemption));
  RETURN_IF_ERROR(ReadDuration(n, "preempt_gap", "scheduler.", &s.preempt_gap));
  return absl::OkStatus();
}

absl::Status ParseWorker(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["worker"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(
      CheckKeys(n, "worker",
                {"master", "slots", "runtime", "runc", "shim", "containerd", "containerd_address",
                 "containerd_namespace", "resctrl", "resctrl_root", "keep_alive",
                 "warm_memory_bytes", "cpu_priority", "container_uid", "container_gid",
                 "output_limit_bytes", "reconnect_min", "reconnect_max"}));
  WorkerConfig& w = config->worker;
  RETURN_IF_ERROR(ReadString(n, "master", "worker.", &w.master));
  RETURN_IF_ERROR(ReadUint(n, "slots", "worker.", &w.slots));
  RETURN_IF_ERROR(ReadString(n, "runtime", "worker.", &w.runtime));
  RETURN_IF_ERROR(ReadString(n, "runc", "worker.", &w.runc));
  RETURN_IF_ERROR(ReadString(n, "shim", "worker.", &w.shim));
  RETURN_IF_ERROR(ReadString(n, "containerd", "worker.", &w.containerd));
  RETURN_IF_ERROR(ReadString(n, "containerd_address", "worker.", &w.containerd_address));
  RETURN_IF_ERROR(ReadString(n, "containerd_namespace", "worker.", &w.containerd_namespace));
  RETURN_IF_ERROR(ReadString(n, "resctrl", "worker.", &w.resctrl));
  RETURN_IF_ERROR(ReadString(n, "resctrl_root", "worker.", &w.resctrl_root));
  RETURN_IF_ERROR(ReadDuration(n, "keep_alive", "worker.", &w.keep_alive));
  RETURN_IF_ERROR(ReadBytes(n, "warm_memory_bytes", "worker.", &w.warm_memory_bytes));
  RETURN_IF_ERROR(ReadBool(n, "cpu_priority", "worker.", &w.cpu_priority));
  RETURN_IF_ERROR(ReadUint(n, "container_uid", "worker.", &w.container_uid));
  RETURN_IF_ERROR(ReadUint(n, "container_gid", "worker.", &w.container_gid));
  RETURN_IF_ERROR(ReadBytes(n, "output_limit_bytes", "worker.", &w.output_limit_bytes));
  RETURN_IF_ERROR(ReadDuration(n, "reconnect_min", "worker.", &w.reconnect_min));
  RETURN_IF_ERROR(ReadDuration(n, "reconnect_max", "worker.", &w.reconnect_max));
  return absl::OkStatus();
}

absl::Status ParseTailScheduler(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["tail_scheduler"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(
      n, "tail_scheduler",
      {"soft_d2f_threshold", "hard_d2f_threshold", "soft_f2c_threshold", "hard_f2c_threshold",
       "min_samples", "sample_interval", "offload_load_threshold"}));
  TailSchedulerConfig& t = config->tail_scheduler;
  const std::string where = "tail_scheduler.";
  RETURN_IF_ERROR(ReadDouble(n, "soft_d2f_threshold", where, &t.soft_d2f));
  RETURN_IF_ERROR(ReadDouble(n, "hard_d2f_threshold", where, &t.hard_d2f));
  RETURN_IF_ERROR(ReadDouble(n, "soft_f2c_threshold", where, &t.soft_f2c));
  RETURN_IF_ERROR(ReadDouble(n, "hard_f2c_threshold", where, &t.hard_f2c));
  RETURN_IF_ERROR(ReadUint(n, "min_samples", where, &t.min_samples));
  RETURN_IF_ERROR(ReadDuration(n, "sample_interval", where, &t.sample_interval));
  RETURN_IF_ERROR(ReadDouble(n, "offload_load_threshold", where, &t.offload_load_threshold));
  return absl::OkStatus();
}

absl::Status ParseNetworkEmulation(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["network_emulation"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(n, "network_emulation", {"same_zone", "cross_zone", "cloud", "nodes"}));
  NetworkEmulationConfig& e = config->network_emulation;
  const std::string where = "network_emulation.";
  RETURN_IF_ERROR(ReadDuration(n, "same_zone", where, &e.same_zone, true));
  RETURN_IF_ERROR(ReadDuration(n, "cross_zone", where, &e.cross_zone, true));
  RETURN_IF_ERROR(ReadDuration(n, "cloud", where, &e.cloud, true));
  if (const YAML::Node nodes = n["nodes"]) {
    if (!nodes.IsMap()) return Invalid("network_emulation.nodes", "expected node id: delay");
    for (const auto& kv : nodes) {
      const std::string id = kv.first.as<std::string>();
      absl::StatusOr<absl::Duration> d = ParseDurationText(kv.second.as<std::string>());
      if (!d.ok())
        return Invalid("network_emulation.nodes." + id, std::string(d.status().message()));
      e.nodes[id] = *d;
    }
  }
  return absl::OkStatus();
}

absl::Status ParseSimulator(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["simulator"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(n, "simulator", {"workers", "slots", "cold_start", "keep_alive"}));
  SimulatorConfig& sim = config->simulator;
  RETURN_IF_ERROR(ReadUint(n, "workers", "simulator.", &sim.workers));
  RETURN_IF_ERROR(ReadUint(n, "slots", "simulator.", &sim.slots));
  RETURN_IF_ERROR(ReadDuration(n, "cold_start", "simulator.", &sim.cold_start));
  RETURN_IF_ERROR(ReadDuration(n, "keep_alive", "simulator.", &sim.keep_alive));
  return absl::OkStatus();
}

absl::Status ParseMetrics(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["metrics"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(n, "metrics", {"listen", "port_file", "max_function_labels"}));
  MetricsConfig& m = config->metrics;
  RETURN_IF_ERROR(ReadString(n, "listen", "metrics.", &m.listen));
  RETURN_IF_ERROR(ReadString(n, "port_file", "metrics.", &m.port_file));
  RETURN_IF_ERROR(ReadUint(n, "max_function_labels", "metrics.", &m.max_function_labels));
  return absl::OkStatus();
}

absl::Status ParseTls(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["tls"];
  if (!n) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(n, "tls", {"cert", "key", "ca", "require_client_cert", "server_name"}));
  TlsConfig& t = config->tls;
  RETURN_IF_ERROR(ReadString(n, "cert", "tls.", &t.cert));
  RETURN_IF_ERROR(ReadString(n, "key", "tls.", &t.key));
  RETURN_IF_ERROR(ReadString(n, "ca", "tls.", &t.ca));
  RETURN_IF_ERROR(ReadBool(n, "require_client_cert", "tls.", &t.require_client_cert));
  RETURN_IF_ERROR(ReadString(n, "server_name", "tls.", &t.server_name));
  return absl::OkStatus();
}

absl::Status ParseTopology(const YAML::Node& root, Config* config) {
  const YAML::Node n = root["topology"];
  if (!n) return absl::OkStatus();
  if (!n.IsSequence()) return Invalid("topology", "expected a list of nodes");
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string where = absl::StrCat("topology[", i, "]");
    RETURN_IF_ERROR(CheckKeys(n[i], where, {"id", "address", "role", "zone"}));
    TopologyEntry entry;
    RETURN_IF_ERROR(ReadString(n[i], "id", where + ".", &entry.id));
    RETURN_IF_ERROR(ReadString(n[i], "address", where + ".", &entry.address));
    RETURN_IF_ERROR(ReadString(n[i], "role", where + ".", &entry.role));
    RETURN_IF_ERROR(ReadString(n[i], "zone", where + ".", &entry.zone));
    if (entry.id.empty() || entry.address.empty()) {
      return Invalid(where, "needs both id and address");
    }
    if (!kTopologyRoles.count(entry.role)) {
      return Invalid(where + ".role", absl::StrCat("'", entry.role,
                                                   "' is not one of cloud-controller, "
                                                   "edge-controller, worker"));
    }
    config->topology.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDurationText(const std::string& text) {
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  double seconds = 0;
  if (absl::SimpleAtod(trimmed, &seconds)) return absl::Seconds(seconds);
  absl::Duration d;
  if (!absl::ParseDuration(trimmed, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a duration (examples: 500ms, 2s, 1m30s)"));
  }
  return d;
}

absl::StatusOr<uint64_t> ParseByteSize(const std::string& text) {
  const std::string t(absl::StripAsciiWhitespace(text));
  size_t digits = 0;
  while (digits < t.size() && absl::ascii_isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  uint64_t value = 0;
  if (digits == 0 || !absl::SimpleAtoi(t.substr(0, digits), &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a byte size (examples: 4096, 64KiB, 1MiB)"));
  }
  const std::string unit(absl::StripAsciiWhitespace(t.substr(digits)));
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1},      {"B", 1},        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' has an unknown unit (use B, KiB, MiB, GiB, KB, MB, GB)"));
  }
  return value * it->second;
}

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text) {
  Config config;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: not valid YAML: ", e.what()));
  }
  if (!root || root.IsNull()) return config;
  try {
    RETURN_IF_ERROR(
        CheckKeys(root, "",
                  {"architecture", "node", "listen", "advertise_address", "state_dir", "port_file",
                   "log_level", "cluster", "scheduler", "worker", "simulator", "topology",
                   "tail_scheduler", "network_emulation", "metrics", "tls"}));
    RETURN_IF_ERROR(ReadString(root, "architecture", "", &config.architecture));
    RETURN_IF_ERROR(ReadString(root, "listen", "", &config.listen));
    RETURN_IF_ERROR(ReadString(root, "advertise_address", "", &config.advertise_address));
    RETURN_IF_ERROR(ReadString(root, "state_dir", "", &config.state_dir));
    RETURN_IF_ERROR(ReadString(root, "port_file", "", &config.port_file));
    RETURN_IF_ERROR(ReadString(root, "log_level", "", &config.log_level));
    RETURN_IF_ERROR(ParseNode(root, &config));
    RETURN_IF_ERROR(ParseCluster(root, &config));
    RETURN_IF_ERROR(ParseScheduler(root, &config));
    RETURN_IF_ERROR(ParseWorker(root, &config));
    RETURN_IF_ERROR(ParseSimulator(root, &config));
    RETURN_IF_ERROR(ParseTopology(root, &config));
    RETURN_IF_ERROR(ParseTailScheduler(root, &config));
    RETURN_IF_ERROR(ParseNetworkEmulation(root, &config));
    RETURN_IF_ERROR(ParseMetrics(root, &config));
    RETURN_IF_ERROR(ParseTls(root, &config));
    ApplyTopology(&config);
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports type mismatches by exception; they stop at this boundary.
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.what()));
  }
  RETURN_IF_ERROR(ValidateConfig(config));
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config: cannot read '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto config = ParseConfig(buffer.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

absl::Status ValidateTailScheduler(const TailSchedulerConfig& t) {
  for (double v : {t.soft_d2f, t.hard_d2f, t.soft_f2c, t.hard_f2c}) {
    if (!(v >= 1)) {
      return absl::InvalidArgumentError(
          "tail-ratio thresholds are P95/P50 ratios: each must be at least 1");
    }
  }
  if (t.soft_d2f >= t.hard_d2f) {
    return absl::InvalidArgumentError(
        absl::StrCat("soft_d2f ", t.soft_d2f, " must be below hard_d2f ", t.hard_d2f));
  }
  if (t.soft_f2c >= t.hard_f2c) {
    return absl::InvalidArgumentError(
        absl::StrCat("soft_f2c ", t.soft_f2c, " must be below hard_f2c ", t.hard_f2c));
  }
  if (t.min_samples < 2) return absl::InvalidArgumentError("min_samples must be at least 2");
  if (t.sample_interval < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("sample_interval must be at least 100ms");
  }
  if (!(t.offload_load_threshold > 0) || t.offload_load_threshold > 1) {
    return absl::InvalidArgumentError(
        "offload_load_threshold is the busy fraction of slots: above 0, at most 1");
  }
  return absl::OkStatus();
}

void ApplyTopology(Config* config) {
  const TopologyEntry* cloud = nullptr;
  for (const TopologyEntry& e : config->topology) {
    if (e.role == "cloud-controller" && cloud == nullptr) cloud = &e;
    if (config->node.id.empty() || e.id != config->node.id) continue;
    if (config->node.zone == "default" && !e.zone.empty()) config->node.zone = e.zone;
    if (e.role == "edge-controller" && config->node.role == "master") config->node.role = "edge";
  }
  if (cloud == nullptr) return;
  if (config->node.role == "edge" && config->node.parent.empty()) {
    config->node.parent = cloud->address;
  }
  if (config->node.role == "worker" && config->worker.master.empty()) {
    config->worker.master = cloud->address;
  }
}

absl::Status ValidateConfig(const Config& config) {
  if (!kRoles.count(config.node.role)) {
    return Invalid("node.role",
                   absl::StrCat("'", config.node.role, "' is not one of master, edge, worker"));
  }
  if (config.node.role == "edge" && config.node.parent.empty()) {
    return Invalid("node.parent", "a zone master (role edge) needs its cloud master's host:port");
  }
  if (!config.node.parent.empty() && config.node.role != "edge") {
    return Invalid("node.parent", "only a zone master (role edge) has a parent");
  }
  if (!config.node.parent.empty() && config.node.parent.find(':') == std::string::npos) {
    return Invalid("node.parent", absl::StrCat("'", config.node.parent, "' is not host:port"));
  }
  {
    const NetworkEmulationConfig& e = config.network_emulation;
    bool negative = e.same_zone < absl::ZeroDuration() || e.cross_zone < absl::ZeroDuration() ||
                    e.cloud < absl::ZeroDuration();
    for (const auto& [id, d] : e.nodes) negative = negative || d < absl::ZeroDuration();
    if (negative) return Invalid("network_emulation", "delays must not be negative");
  }
  if (!kArchitectures.count(config.architecture)) {
    return Invalid("architecture",
                   absl::StrCat("'", config.architecture,
                                "' is not one of centralized, federated, decentralized, dynamic"));
  }
  if (absl::Status s = ValidateTailScheduler(config.tail_scheduler); !s.ok()) {
    return Invalid("tail_scheduler", std::string(s.message()));
  }
  if (config.listen.find(':') == std::string::npos) {
    return Invalid("listen", absl::StrCat("'", config.listen, "' is not host:port"));
  }
  if (!config.metrics.listen.empty() && config.metrics.listen.find(':') == std::string::npos) {
    return Invalid("metrics.listen", absl::StrCat("'", config.metrics.listen,
                                                  "' is not host:port (empty turns metrics off)"));
  }
  if (config.tls.enabled() && (config.tls.cert.empty() || config.tls.key.empty())) {
    return Invalid("tls", "a node serves and dials with one identity: give tls.cert and tls.key");
  }
  if (config.tls.require_client_cert && config.tls.ca.empty()) {
    return Invalid("tls.require_client_cert",
                   "needs tls.ca, the CA client certificates must be signed by");
  }
  if (config.metrics.max_function_labels == 0) {
    return Invalid("metrics.max_function_labels", "must be at least 1");
  }
  LogLevel level;
  if (!ParseLogLevel(config.log_level, &level)) {
    return Invalid("log_level", absl::StrCat("'", config.log_level,
                                             "' is not one of debug, info, warning, error"));
  }
  const ClusterConfig& c = config.cluster;
  if (c.heartbeat_timeout <= c.heartbeat_interval) {
    return Invalid("cluster.heartbeat_timeout", "must be longer than cluster.heartbeat_interval");
  }
  const SchedulerConfig& s = config.scheduler;
  if (s.default_timeout > s.max_timeout) {
    return Invalid("scheduler.default_timeout", "must not exceed scheduler.max_timeout");
  }
  if (s.max_attempts == 0) return Invalid("scheduler.max_attempts", "must be at least 1");
  if (s.max_queue == 0) return Invalid("scheduler.max_queue", "must be at least 1");
  if (s.aging_rate < 0) return Invalid("scheduler.aging_rate", "must not be negative");
  if (s.predictor_history < 2) {
    return Invalid("scheduler.predictor_history", "must be at least 2");
  }
  if (config.worker.slots > 4096) return Invalid("worker.slots", "must be at most 4096");
  if (config.worker.runtime != "process" && config.worker.runtime != "runc") {
    return Invalid("worker.runtime", "must be process or runc");
  }
  if (config.worker.runc != "auto" && config.worker.runc != "on" && config.worker.runc != "off") {
    return Invalid("worker.runc", "must be auto, on or off");
  }
  if (const std::string& r = config.worker.resctrl; r != "auto" && r != "on" && r != "off") {
    return Invalid("worker.resctrl", "must be auto, on or off");
  }
  if (config.worker.resctrl_root.empty() || config.worker.resctrl_root[0] != '/') {
    return Invalid("worker.resctrl_root", "must be an absolute path");
  }
  if (const std::string& c = config.worker.containerd; c != "auto" && c != "on" && c != "off") {
    return Invalid("worker.containerd", "must be auto, on or off");
  }
  if (config.worker.containerd_namespace.empty() ||
      config.worker.containerd_namespace.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return Invalid("worker.containerd_namespace",
                   "must be a non-empty name of letters, digits, '.', '_' and '-'");
  }
  if (config.worker.runtime == "runc" && config.worker.runc == "off") {
    return Invalid("worker.runtime", "is runc but worker.runc is off");
  }
  if (config.worker.reconnect_min > config.worker.reconnect_max) {
    return Invalid("worker.reconnect_min", "must not exceed worker.reconnect_max");
  }
  const SimulatorConfig& sim = config.simulator;
  if (sim.workers == 0 || sim.workers > 100000) {
    return Invalid("simulator.workers", "must be between 1 and 100000");
  }
  if (sim.slots == 0 || sim.slots > 4096) {
    return Invalid("simulator.slots", "must be between 1 and 4096");
  }
  if (sim.cold_start < absl::ZeroDuration()) {
    return Invalid("simulator.cold_start", "must not be negative");
  }
  if (sim.keep_alive < absl::ZeroDuration()) {
    return Invalid("simulator.keep_alive", "must not be negative");
  }
  return absl::OkStatus();
}

std::string ConfigToYaml(const Config& config) {
  auto dur = [](absl::Duration d) { return absl::FormatDuration(d); };
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "architecture" << YAML::Value << config.architecture;
  out << YAML::Key << "node" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "id" << YAML::Value << config.node.id;
  out << YAML::Key << "role" << YAML::Value << config.node.role;
  out << YAML::Key << "zone" << YAML::Value << config.node.zone;
  out << YAML::Key << "parent" << YAML::Value << config.node.parent;
  out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : config.node.labels) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "listen" << YAML::Value << config.listen;
  out << YAML::Key << "advertise_address" << YAML::Value << config.advertise_address;
  out << YAML::Key << "state_dir" << YAML::Value << config.state_dir;
  out << YAML::Key << "log_level" << YAML::Value << config.log_level;
  const ClusterConfig& c = config.cluster;
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "join_token" << YAML::Value << (c.join_token.empty() ? "" : "<redacted>");
  out << YAML::Key << "heartbeat_interval" << YAML::Value << dur(c.heartbeat_interval);
  out << YAML::Key << "heartbeat_timeout" << YAML::Value << dur(c.heartbeat_timeout);
  out << YAML::Key << "register_timeout" << YAML::Value << dur(c.register_timeout);
  out << YAML::Key << "add_worker_timeout" << YAML::Value << dur(c.add_worker_timeout);
  out << YAML::Key << "max_rootfs_bytes" << YAML::Value << c.max_rootfs_bytes;
  out << YAML::EndMap;
  const SchedulerConfig& s = config.scheduler;
  out << YAML::Key << "scheduler" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "queue_order" << YAML::Value << s.queue_order;
  out << YAML::Key << "placement" << YAML::Value << s.placement;
  out << YAML::Key << "default_timeout" << YAML::Value << dur(s.default_timeout);
  out << YAML::Key << "max_timeout" << YAML::Value << dur(s.max_timeout);
  out << YAML::Key << "queue_timeout" << YAML::Value << dur(s.queue_timeout);
  out << YAML::Key << "max_queue" << YAML::Value << s.max_queue;
  out << YAML::Key << "max_payload_bytes" << YAML::Value << s.max_payload_bytes;
  out << YAML::Key << "retained_results" << YAML::Value << s.retained_results;
  out << YAML::Key << "max_attempts" << YAML::Value << s.max_attempts;
  out << YAML::Key << "aging_rate" << YAML::Value << s.aging_rate;
  out << YAML::Key << "max_wait" << YAML::Value << dur(s.max_wait);
  out << YAML::Key << "default_estimate" << YAML::Value << dur(s.default_estimate);
  out << YAML::Key << "predictor_history" << YAML::Value << s.predictor_history;
  out << YAML::Key << "preemption" << YAML::Value << (s.preemption ? "true" : "false");
  out << YAML::Key << "preempt_gap" << YAML::Value << dur(s.preempt_gap);
  out << YAML::EndMap;
  const WorkerConfig& w = config.worker;
  out << YAML::Key << "worker" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "master" << YAML::Value << w.master;
  out << YAML::Key << "slots" << YAML::Value << w.slots;
  out << YAML::Key << "runtime" << YAML::Value << w.runtime;
  out << YAML::Key << "runc" << YAML::Value << w.runc;
  out << YAML::Key << "shim" << YAML::Value << w.shim;
  out << YAML::Key << "containerd" << YAML::Value << w.containerd;
  out << YAML::Key << "containerd_address" << YAML::Value << w.containerd_address;
  out << YAML::Key << "containerd_namespace" << YAML::Value << w.containerd_namespace;
  out << YAML::Key << "resctrl" << YAML::Value << w.resctrl;
  out << YAML::Key << "resctrl_root" << YAML::Value << w.resctrl_root;
  out << YAML::Key << "keep_alive" << YAML::Value << dur(w.keep_alive);
  out << YAML::Key << "warm_memory_bytes" << YAML::Value << w.warm_memory_bytes;
  out << YAML::Key << "cpu_priority" << YAML::Value << (w.cpu_priority ? "true" : "false");
  out << YAML::Key << "container_uid" << YAML::Value << w.container_uid;
  out << YAML::Key << "container_gid" << YAML::Value << w.container_gid;
  out << YAML::Key << "output_limit_bytes" << YAML::Value << w.output_limit_bytes;
  out << YAML::Key << "reconnect_min" << YAML::Value << dur(w.reconnect_min);
  out << YAML::Key << "reconnect_max" << YAML::Value << dur(w.reconnect_max);
  out << YAML::EndMap;
  const SimulatorConfig& sim = config.simulator;
  out << YAML::Key << "simulator" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "workers" << YAML::Value << sim.workers;
  out << YAML::Key << "slots" << YAML::Value << sim.slots;
  out << YAML::Key << "cold_start" << YAML::Value << dur(sim.cold_start);
  out << YAML::Key << "keep_alive" << YAML::Value << dur(sim.keep_alive);
  out << YAML::EndMap;
  const TailSchedulerConfig& t = config.tail_scheduler;
  out << YAML::Key << "tail_scheduler" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "soft_d2f_threshold" << YAML::Value << t.soft_d2f;
  out << YAML::Key << "hard_d2f_threshold" << YAML::Value << t.hard_d2f;
  out << YAML::Key << "soft_f2c_threshold" << YAML::Value << t.soft_f2c;
  out << YAML::Key << "hard_f2c_threshold" << YAML::Value << t.hard_f2c;
  out << YAML::Key << "min_samples" << YAML::Value << t.min_samples;
  out << YAML::Key << "sample_interval" << YAML::Value << dur(t.sample_interval);
  out << YAML::Key << "offload_load_threshold" << YAML::Value << t.offload_load_threshold;
  out << YAML::EndMap;
  const TlsConfig& tls = config.tls;
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cert" << YAML::Value << tls.cert;
  out << YAML::Key << "key" << YAML::Value << tls.key;
  out << YAML::Key << "ca" << YAML::Value << tls.ca;
  out << YAML::Key << "require_client_cert" << YAML::Value
      << (tls.require_client_cert ? "true" : "false");
  out << YAML::Key << "server_name" << YAML::Value << tls.server_name;
  out << YAML::EndMap;
  const MetricsConfig& metrics = config.metrics;
  out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << metrics.listen;
  out << YAML::Key << "port_file" << YAML::Value << metrics.port_file;
  out << YAML::Key << "max_function_labels" << YAML::Value << metrics.max_function_labels;
  out << YAML::EndMap;
  const NetworkEmulationConfig& net = config.network_emulation;
  out << YAML::Key << "network_emulation" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "same_zone" << YAML::Value << dur(net.same_zone);
  out << YAML::Key << "cross_zone" << YAML::Value << dur(net.cross_zone);
  out << YAML::Key << "cloud" << YAML::Value << dur(net.cloud);
  out << YAML::Key << "nodes" << YAML::Value << YAML::BeginMap;
  for (const auto& [id, d] : net.nodes) out << YAML::Key << id << YAML::Value << dur(d);
  out << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "topology" << YAML::Value << YAML::BeginSeq;
  for (const TopologyEntry& e : config.topology) {
    out << YAML::BeginMap << YAML::Key << "id" << YAML::Value << e.id << YAML::Key << "address"
        << YAML::Value << e.address << YAML::Key << "role" << YAML::Value << e.role << YAML::Key
        << "zone" << YAML::Value << e.zone << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace fsched
