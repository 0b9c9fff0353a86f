#include "common/daemon_config.h"

#include <sys/stat.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "common/transport_security.h"

namespace fsched {
namespace {

using config::v1::NODE_ROLE_MASTER;
using config::v1::NODE_ROLE_WORKER;
using config::v1::NODE_ROLE_ZONE_MASTER;

absl::Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", where, ": ", what));
}

}  // namespace

absl::Status ValidateDaemonConfig(const Config& config) {
  const NodeConfig& node = config.node();
  if (node.role() == NODE_ROLE_ZONE_MASTER && node.parent().empty()) {
    return Invalid("node.parent", "a zone master (role zone-master) needs its master's host:port");
  }
  if (!node.parent().empty() && node.role() != NODE_ROLE_ZONE_MASTER) {
    return Invalid("node.parent", "only a zone master (role zone-master) has a parent");
  }
  if (!node.parent().empty() && node.parent().find(':') == std::string::npos) {
    return Invalid("node.parent", absl::StrCat("'", node.parent(), "' is not host:port"));
  }
  const TlsConfig& tls = config.tls();
  if (TlsConfigured(tls) && (tls.cert().empty() || tls.key().empty())) {
    return Invalid("tls", "a node serves and dials with one identity: give tls.cert and tls.key");
  }
  if (tls.require_client_cert() && tls.ca().empty()) {
    return Invalid("tls.require_client_cert",
                   "needs tls.ca, the CA client certificates must be signed by");
  }
  absl::flat_hash_set<std::string> certificate_names;
  for (int i = 0; i < config.auth().certificates_size(); ++i) {
    const config::v1::CertificateRole& c = config.auth().certificates(i);
    const std::string where = absl::StrCat("auth.certificates[", i, "]");
    if (!tls.require_client_cert()) {
      return Invalid(where, "certificates identify callers only with tls.require_client_cert");
    }
    if (c.name().empty()) return Invalid(where + ".name", "empty: give the certificate's CN");
    if (!certificate_names.insert(c.name()).second) {
      return Invalid(where + ".name", absl::StrCat("'", c.name(), "' is listed twice"));
    }
    if (c.role() != v1::ROLE_INVOKER && c.role() != v1::ROLE_DEVELOPER &&
        c.role() != v1::ROLE_ADMIN) {
      return Invalid(where + ".role", "must be invoker, developer or admin");
    }
  }
  return absl::OkStatus();
}

void ApplyTopology(Config* config) {
  NodeConfig* node = config->mutable_node();
  const TopologyEntry* master = nullptr;
  for (const TopologyEntry& e : config->topology()) {
    if (e.role() == NODE_ROLE_MASTER && master == nullptr) master = &e;
    if (node->id().empty() || e.id() != node->id()) continue;
    if (node->zone() == "default" && !e.zone().empty()) node->set_zone(e.zone());
    if (e.role() == NODE_ROLE_ZONE_MASTER && node->role() == NODE_ROLE_MASTER) {
      node->set_role(NODE_ROLE_ZONE_MASTER);
    }
  }
  if (master == nullptr) return;
  if (node->role() == NODE_ROLE_ZONE_MASTER && node->parent().empty())
    node->set_parent(master->address());
  if (node->role() == NODE_ROLE_WORKER && config->worker().master().empty()) {
    config->mutable_worker()->set_master(master->address());
  }
}

absl::Status FinishDaemonConfig(const DaemonConfigRequest& request, Config* config) {
  NodeConfig* node = config->mutable_node();
  if (request.role == config::v1::NODE_ROLE_WORKER) {
    node->set_role(config::v1::NODE_ROLE_WORKER);
  } else if (node->role() == config::v1::NODE_ROLE_WORKER) {
    // A file shared with the workers still makes a master, unless --role says otherwise.
    bool role_flag = false;
    for (const ConfigOverride& o : request.overrides)
      role_flag = role_flag || o.path == "node.role";
    if (!role_flag) node->set_role(config::v1::NODE_ROLE_MASTER);
  }
  ApplyTopology(config);
  if (request.role != config::v1::NODE_ROLE_WORKER) {
    if (node->role() == config::v1::NODE_ROLE_WORKER) {
      return absl::InvalidArgumentError(
          "--role worker: run fsched-worker for a worker; a master is master or zone-master");
    }
    if (node->id().empty()) {
      node->set_id(node->role() == config::v1::NODE_ROLE_ZONE_MASTER ? "zone-master-" + node->zone()
                                                                     : "master");
    }
  }
  RETURN_IF_ERROR(ValidateDaemonConfig(*config));
  for (const auto& rules : request.section_rules) RETURN_IF_ERROR(rules(*config));
  return absl::OkStatus();
}

absl::Status ResolveClusterCredential(Config* config) {
  ClusterConfig* cluster = config->mutable_cluster();
  if (!cluster->join_token().empty()) return absl::OkStatus();
  if (!cluster->join_token_file().empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(cluster->join_token_file());
    if (!token.ok())
      return Invalid("cluster.join_token_file", std::string(token.status().message()));
    cluster->set_join_token(*token);
    return absl::OkStatus();
  }
  if (config->auth().mode() == config::v1::AUTH_MODE_NONE) return absl::OkStatus();
  if (config->node().role() != NODE_ROLE_MASTER) {
    return Invalid("cluster.join_token",
                   "empty, and auth.mode is tokens: fsched nodes authenticate each other with the "
                   "cluster's credential. Pass --join_token or --join_token_file (a master "
                   "without one writes its own to <its state_dir>/join.token), or set "
                   "auth.mode: none on a machine nobody else can reach");
  }
  const std::string path = config->state_dir() + "/join.token";
  absl::StatusOr<std::string> token = ReadTokenFile(path);
  if (token.ok()) {
    cluster->set_join_token(*token);
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(token.status()))
    return Invalid("cluster.join_token", std::string(token.status().message()));
  ASSIGN_OR_RETURN(std::string generated, NewToken());
  ::mkdir(config->state_dir().c_str(), 0700);
  if (absl::Status written = WriteSecretFile(path, generated + "\n"); !written.ok()) {
    return Invalid("cluster.join_token",
                   absl::StrCat("cannot keep a generated cluster credential: ", written.message()));
  }
  FSCHED_LOG(kInfo, "wrote a new cluster credential to %s: start workers with --join_token_file %s",
             path, path);
  cluster->set_join_token(std::move(generated));
  return absl::OkStatus();
}

absl::Status ApplyDaemonConfig(const Config& config, const std::string& log_tag) {
  if (TlsConfigured(config.tls())) {
    if (absl::Status tls = UseTls(config.tls()); !tls.ok()) return tls;
  }
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(ConfigEnumName(config.log_level()), &level);
  SetLogLevel(level);
  SetLogTag(log_tag);
  // Everything a daemon dials is another fsched node: it calls as the cluster.
  UseBearerToken(config.cluster().join_token());
  if (config.auth().mode() == config::v1::AUTH_MODE_NONE) {
    FSCHED_LOG(kWarning,
               "auth.mode is none: anyone who reaches this node's ports may register and run "
               "functions and change the cluster");
  }
  return absl::OkStatus();
}

}  // namespace fsched
