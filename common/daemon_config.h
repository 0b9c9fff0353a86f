// The sections every daemon reads about itself (node identity and seed 001's
// shared topology, logging, TLS, metrics): their cross-field rules, and how a
// daemon's configuration is assembled from defaults, its file and its flags.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config.h"

namespace fsched {

/// INVALID_ARGUMENT "config: <key>: <what>" unless the node's role, zone parent
/// and TLS files fit together (a zone master and only it has a host:port
/// parent; TLS has both cert and key; client certificates need a CA).
absl::Status ValidateDaemonConfig(const Config& config);

/// Seed 001's architecture.yaml: the same topology list on every node. The
/// entry whose id is node.id gives this node's zone (when unset) and, for a
/// master, its role; the master's address becomes a zone master's
/// parent and a worker's master where those are unset. Call after flags.
void ApplyTopology(Config* config);

/// What a daemon's main adds to the shared flags (common/daemon_flags.cc).
struct DaemonConfigRequest {
  config::v1::NodeRole role;  // the process's role (a master may become a zone master by config)
  // Flags of this daemon alone, as overrides ({"worker.master", "..."}),
  // applied after the shared ones.
  std::vector<ConfigOverride> overrides;
  // Applied before everything else when no --config file is given.
  std::vector<ConfigOverride> without_file;
  // The rules of the sections this daemon reads besides the shared ones
  // (routing::ValidateRoutingConfig, master::ValidateMasterConfig, ...).
  std::vector<absl::Status (*)(const Config&)> section_rules;

  /// Adds an override for `key` unless the flag's `value` is empty (not given).
  void Override(const char* key, const std::string& value) {
    if (!value.empty()) overrides.push_back({key, value});
  }
};

/// Assembles a daemon's configuration: the schema's defaults, the --config
/// file, the shared flags (--listen, --state_dir, --join_token, --node_id,
/// --zone, --architecture, --advertise_address, --port_file, --metrics_listen,
/// --metrics_port_file, --log_level), then the daemon's own overrides; settles
/// the role, applies the topology and names the node where unnamed (masters).
/// Checks everything: the schema, the daemon sections, request.section_rules.
/// \return the first error, naming the file or key.
absl::StatusOr<Config> LoadDaemonConfig(const DaemonConfigRequest& request);

/// Sets the --help text; --help then lists the shared flags and the daemon's own.
/// Call before absl::ParseCommandLine.
void SetDaemonUsage(const std::string& usage);

/// What LoadDaemonConfig does after reading the file and flags into `config`:
/// settles the role (a worker is a worker; a file shared with workers makes a
/// master unless request.overrides set node.role), applies the topology, names
/// an unnamed master, then checks the daemon sections and request.section_rules.
absl::Status FinishDaemonConfig(const DaemonConfigRequest& request, Config* config);

/// Settles cluster.join_token, the credential fsched nodes call each other
/// with: as given, else read from cluster.join_token_file, else (a master
/// with auth.mode tokens) read from or generated into <state_dir>/join.token.
/// INVALID_ARGUMENT naming the key when a non-master has none, or a file
/// cannot be read or written. LoadDaemonConfig calls it last.
absl::Status ResolveClusterCredential(Config* config);

/// Applies a loaded configuration to the process: TLS for every later server
/// and channel (where configured), the log level and the log tag, and the
/// cluster credential on every later channel (UseBearerToken).
/// \return UseTls's error for unreadable or mismatched files.
absl::Status ApplyDaemonConfig(const Config& config, const std::string& log_tag);

}  // namespace fsched
