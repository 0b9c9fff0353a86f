// The flags every fsched daemon shares, defined once. A flag is an override of
// one config key, so it goes through the same parsing and checks as the file.
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "common/daemon_config.h"
#include "common/status_macros.h"

ABSL_FLAG(std::string, config, "", "YAML configuration file (defaults are embedded)");
ABSL_FLAG(std::string, listen, "",
          "host:port to serve on (port 0 = any free port); overrides config");
ABSL_FLAG(std::string, state_dir, "", "directory for durable state; overrides config");
ABSL_FLAG(std::string, join_token, "",
          "the cluster's credential (workers join with it, nodes call each other with it); "
          "overrides config");
ABSL_FLAG(std::string, join_token_file, "",
          "a file holding the cluster's credential (a master writes one to "
          "<state_dir>/join.token when given none); overrides config");
ABSL_FLAG(std::string, auth, "",
          "tokens | none: whether callers must present a bearer token; overrides config");
ABSL_FLAG(
    std::string, node_id, "",
    "this node's id (default: master, zone-master-ZONE, or hostname-port for a worker); overrides "
    "config");
ABSL_FLAG(std::string, zone, "", "this node's zone; overrides config");
ABSL_FLAG(std::string, architecture, "",
          "centralized | federated | decentralized | dynamic: how requests entering here are "
          "routed; overrides config");
ABSL_FLAG(std::string, advertise_address, "",
          "host:port other nodes reach this one at (e.g. the pod IP); overrides config");
ABSL_FLAG(std::string, port_file, "", "write the bound port to this file once serving");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of the Prometheus endpoint (port 0 = any; \"off\" = none); overrides config");
ABSL_FLAG(std::string, metrics_port_file, "", "write the bound metrics port to this file");
ABSL_FLAG(std::string, http_listen, "",
          "host:port of the HTTP/JSON entry (port 0 = any; \"off\" = none); overrides config");
ABSL_FLAG(std::string, http_port_file, "", "write the bound HTTP port to this file");
ABSL_FLAG(std::string, log_level, "", "debug | info | warning | error; overrides config");

namespace fsched {

void SetDaemonUsage(const std::string& usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig help;
  // --help lists the daemon's own flags (its main.cc) and the shared ones here.
  help.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "/main.cc") || absl::EndsWith(file, "/daemon_flags.cc");
  };
  help.contains_helpshort_flags = help.contains_help_flags;
  absl::SetFlagsUsageConfig(help);
}

absl::StatusOr<Config> LoadDaemonConfig(const DaemonConfigRequest& request) {
  const std::string path = absl::GetFlag(FLAGS_config);
  DaemonConfigRequest shared{
      request.role, path.empty() ? request.without_file : std::vector<ConfigOverride>{}, {}, {}};
  shared.Override("listen", absl::GetFlag(FLAGS_listen));
  shared.Override("state_dir", absl::GetFlag(FLAGS_state_dir));
  shared.Override("cluster.join_token", absl::GetFlag(FLAGS_join_token));
  shared.Override("cluster.join_token_file", absl::GetFlag(FLAGS_join_token_file));
  shared.Override("auth.mode", absl::GetFlag(FLAGS_auth));
  shared.Override("node.id", absl::GetFlag(FLAGS_node_id));
  shared.Override("node.zone", absl::GetFlag(FLAGS_zone));
  shared.Override("architecture", absl::GetFlag(FLAGS_architecture));
  shared.Override("advertise_address", absl::GetFlag(FLAGS_advertise_address));
  shared.Override("port_file", absl::GetFlag(FLAGS_port_file));
  shared.Override("log_level", absl::GetFlag(FLAGS_log_level));
  shared.Override("metrics.port_file", absl::GetFlag(FLAGS_metrics_port_file));
  if (const std::string v = absl::GetFlag(FLAGS_metrics_listen); !v.empty()) {
    shared.overrides.push_back({"metrics.listen", v == "off" ? "" : v});  // "off": empty
  }
  shared.Override("http.port_file", absl::GetFlag(FLAGS_http_port_file));
  if (const std::string v = absl::GetFlag(FLAGS_http_listen); !v.empty()) {
    shared.overrides.push_back({"http.listen", v == "off" ? "" : v});
  }
  std::vector<ConfigOverride> overrides = std::move(shared.overrides);
  overrides.insert(overrides.end(), request.overrides.begin(), request.overrides.end());

  Config config;
  if (path.empty()) {
    ASSIGN_OR_RETURN(config, ParseConfig("", overrides));
  } else {
    ASSIGN_OR_RETURN(config, LoadConfigFile(path, overrides));
  }
  RETURN_IF_ERROR(FinishDaemonConfig(request, &config));
  RETURN_IF_ERROR(ResolveClusterCredential(&config));
  return config;
}

}  // namespace fsched
