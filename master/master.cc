#include "master/master.h"

#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/function_call.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/thread_name.h"
#include "http/http_entry.h"
#include "routing/routing_metrics.h"
#include "scheduling/policy_factory.h"

namespace fsched::master {
namespace {

// The command that keeps a function's pre-created instances on a worker, if
// its warm policy asks for any (container and persistent functions have instances).
std::optional<v1::MasterMessage> PrewarmCommand(const v1::FunctionSpec& spec) {
  const bool instances = spec.runtime() == v1::RUNTIME_KIND_RUNC ||
                         spec.runtime() == v1::RUNTIME_KIND_CONTAINERD || IsPersistent(spec);
  if (!instances || spec.warm().prewarmed() == 0) return std::nullopt;
  v1::MasterMessage message;
  *message.mutable_prewarm()->mutable_function() = spec;
  message.mutable_prewarm()->set_count(spec.warm().prewarmed());
  return message;
}

}  // namespace

Master::Master(const Config& config) : config_(config) {}

absl::StatusOr<std::unique_ptr<Master>> Master::Create(const Config& config) {
  std::unique_ptr<Master> m(new Master(config));
  // Tokens, functions and uploads: nothing in the state directory is anyone
  // else's business, functions running on this host included.
  // A directory this user does not own (a Kubernetes volume under an fsGroup)
  // cannot be changed; it is private to the pod there, so a warning is enough.
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir(), ec);
  std::filesystem::permissions(config.state_dir(), std::filesystem::perms::owner_all, ec);
  if (ec) {
    FSCHED_LOG(kWarning,
               "cannot make state_dir %s private (%s): keep other users of this host "
               "out of it",
               config.state_dir(), ec.message());
  }
  m->timers_ = std::make_unique<TimerQueue>();
  ASSIGN_OR_RETURN(m->rootfs_, RootfsStore::Open(config.state_dir() + "/rootfs",
                                                 config.cluster().max_rootfs_bytes(),
                                                 config.cluster().rootfs_budget_bytes()));
  RETURN_IF_ERROR(m->BuildCore());
  m->rootfs_->set_in_use([registry = m->core_->registry()](const std::string& digest) {
    for (const v1::Function& f : registry->List()) {
      if (f.spec().rootfs_digest() == digest) return true;
    }
    return false;
  });
  RETURN_IF_ERROR(m->BuildAuth());
  RETURN_IF_ERROR(m->BuildRouting());
  RETURN_IF_ERROR(m->BuildServices());
  return m;
}

absl::Status Master::BuildCore() {
  MasterCoreOptions options = MasterCoreOptionsFrom(config_);
  options.controller_callbacks = this;
  ASSIGN_OR_RETURN(core_, MasterCore::Create(std::move(options), clock_, timers_.get()));
  const MasterCore::Recovered& r = core_->recovered();
  if (r.requeued + r.running + r.rejected > 0) {
    FSCHED_LOG(kInfo,
               "%d invocations accepted before the last stop and not finished: %d queued again, "
               "%d were running (their workers confirm them), %d rejected (queue full or past "
               "its timeout)",
               r.requeued + r.running + r.rejected, r.requeued, r.running, r.rejected);
  }
  if (r.results > 0) FSCHED_LOG(kInfo, "%d results from before the last stop kept", r.results);
  tasks_ = std::make_unique<TaskFlow>(core_->controller(), core_->store(), core_->llc(),
                                      core_->cluster());
  return tasks_->Load();
}

absl::Status Master::BuildAuth() {
  if (!is_zone_master()) {
    TokenRegistry::Options options;
    options.store = core_->store();
    options.directory = &tokens_;
    options.clock = clock_;
    options.admin_token_file = config_.auth().admin_token_file().empty()
                                   ? config_.state_dir() + "/admin.token"
                                   : config_.auth().admin_token_file();
    ASSIGN_OR_RETURN(token_registry_, TokenRegistry::Open(std::move(options)));
  }
  Gate::Options gate;
  gate.open = config_.auth().mode() == config::v1::AUTH_MODE_NONE;
  for (const config::v1::CertificateRole& c : config_.auth().certificates()) {
    gate.certificates[c.name()] = c.role();
  }
  gate.cluster_token = config_.cluster().join_token();
  gate.tokens = &tokens_;
  gate_ = std::make_unique<Gate>(std::move(gate));
  return absl::OkStatus();
}

absl::Status Master::BuildRouting() {
  routing_ = std::make_unique<routing::RoutingState>(config_.tail_scheduler(), clock_);
  if (absl::StatusOr<v1::Architecture> a =
          routing_->SetArchitecture(ConfigEnumName(config_.architecture()));
      !a.ok()) {
    return absl::Status(a.status().code(), absl::StrCat("architecture: ", a.status().message()));
  }
  if (!is_zone_master()) {
    zones_ =
        std::make_unique<ZoneDirectory>(FromProto(config_.cluster().heartbeat_timeout()), clock_);
  }
  routing::Router::Options router_options;
  router_options.self = SelfNode();
  router_options.emulation = config_.network_emulation();
  router_ = std::make_unique<routing::Router>(std::move(router_options),
                                              static_cast<routing::RouterCallbacks*>(this),
                                              routing_.get(), clock_);
  return absl::OkStatus();
}

routing::NodeRef Master::SelfNode() const {
  routing::NodeRef self;
  self.id = config_.node().id();
  self.zone = config_.node().zone();
  self.role = is_zone_master() ? routing::NodeRole::kZoneMaster : routing::NodeRole::kMaster;
  return self;
}

// Warm policies become worker commands: pre-warm on register and on join,
// evict on delete. Workers without the function's runtime never receive
// pre-warm commands; evict goes to all (the deleted spec is gone).
void Master::OnFunctionRegistered(const v1::Function& function) {
  if (const auto prewarm = PrewarmCommand(function.spec())) {
    core_->cluster()->Broadcast(*prewarm, function.spec().runtime());
  }
}

void Master::OnFunctionDeleted(const std::string& name) {
  v1::MasterMessage evict;
  evict.mutable_evict()->set_function(name);
  core_->cluster()->Broadcast(evict, v1::RUNTIME_KIND_UNSPECIFIED);
}

bool Master::RootfsExists(const std::string& digest) {
  // A zone master mirrors functions the master checked; its workers fetch
  // root filesystems from the master.
  return is_zone_master() || rootfs_->Has(digest);
}

bool Master::WorkerReady(const std::string& worker_id) {
  absl::StatusOr<v1::WorkerInfo> w = core_->cluster()->Get(worker_id);
  return w.ok() && w->state() == v1::WORKER_STATE_READY;
}

void Master::ServeHere(const v1::InvokeRequest& request, const routing::RouteAccepted& accepted,
                       routing::RouteDone done) {
  auto shared_done = std::make_shared<routing::RouteDone>(std::move(done));
  Controller* controller = core_->controller();
  controller->SubmitAsync(
      request,
      [shared_done, controller](const v1::Invocation& finished) {
        if (finished.state() != v1::INVOCATION_STATE_DONE) {
          (*shared_done)(absl::UnavailableError(controller->StoppedBefore(finished.id())));
          return;
        }
        (*shared_done)(finished.result());
      },
      [shared_done, accepted](absl::StatusOr<std::string> id) {
        if (!id.ok()) return (*shared_done)(id.status());
        if (accepted) accepted(*id);
      });
}

void Master::OnEntryDone(v1::Architecture architecture,
                         const absl::StatusOr<v1::InvocationResult>& result,
                         absl::Duration elapsed) {
  if (metrics_) metrics_->routing()->OnEntryDone(architecture, result, elapsed);
}

absl::Status Master::BuildServices() {
  controller_service_ = std::make_unique<ControllerService>(gate_.get(), core_->controller(),
                                                            rootfs_.get(), tasks_.get());
  if (is_zone_master()) controller_service_->set_mirrors(config_.node().parent());
  controller_service_->set_router(router_.get());

  ClusterService::Options cluster_service_options;
  cluster_service_options.gate = gate_.get();
  cluster_service_options.join_token = config_.cluster().join_token();
  cluster_service_options.add_worker_timeout = FromProto(config_.cluster().add_worker_timeout());
  cluster_service_options.zones = zones_.get();
  cluster_service_options.federation = this;
  cluster_service_ = std::make_unique<ClusterService>(cluster_service_options, core_->cluster(),
                                                      core_->scheduler());

  WorkerLinkService::Options link_options;
  link_options.gate = gate_.get();
  link_options.cluster = core_->cluster();
  link_options.scheduler = core_->scheduler();
  link_options.timers = timers_.get();
  link_options.rootfs = rootfs_.get();
  link_options.join_token = config_.cluster().join_token();
  link_options.register_timeout = FromProto(config_.cluster().register_timeout());
  link_options.joined = this;
  link_options.max_message_bytes = MaxReceiveBytes();
  if (routing::LinkDelays(config_.network_emulation(), SelfNode()).enabled()) {
    link_options.link_delays.emplace(config_.network_emulation(), SelfNode());
  }
  link_service_ = std::make_unique<WorkerLinkService>(std::move(link_options));

  TokensService::Options tokens_options;
  tokens_options.gate = gate_.get();
  tokens_options.registry = token_registry_.get();
  tokens_options.directory = &tokens_;
  tokens_options.parent = config_.node().parent();
  tokens_service_ = std::make_unique<TokensService>(std::move(tokens_options));

  AdminService::Options options;
  options.gate = gate_.get();
  options.node_id = config_.node().id();
  options.role = ConfigEnumName(config_.node().role());
  options.zone = config_.node().zone();
  options.config_yaml = ConfigToYaml(config_);
  options.cluster = core_->cluster();
  options.scheduler = core_->scheduler();
  options.registry = core_->registry();
  options.table = core_->table();
  options.controller = core_->controller();
  options.host = &host_;
  options.routing = routing_.get();
  if (config_.scheduler().durable_invocations()) options.recovered = &core_->recovered();
  admin_service_ = std::make_unique<AdminService>(std::move(options));
  return absl::OkStatus();
}

absl::Status Master::Start() {
  // Metrics first: every result and routed request from the first one is counted.
  if (!config_.metrics().listen().empty()) {
    MasterMetrics::Options options;
    options.node_id = config_.node().id();
    options.role = routing::RoleName(is_zone_master() ? routing::NodeRole::kZoneMaster
                                                      : routing::NodeRole::kMaster);
    options.zone = config_.node().zone();
    options.cluster = core_->cluster();
    options.scheduler = core_->scheduler();
    options.table = core_->table();
    options.registry = core_->registry();
    options.routing = routing_.get();
    ASSIGN_OR_RETURN(metrics_, MasterMetrics::Start(config_.metrics(), std::move(options)));
    core_->table()->set_observer(metrics_.get());
  }
  ASSIGN_OR_RETURN(
      server_, StartServer(config_.listen(),
                           {controller_service_.get(), cluster_service_.get(), admin_service_.get(),
                            link_service_.get(), tokens_service_.get()},
                           MaxReceiveBytes()));
  port_ = server_.port;
  advertise_ = config_.advertise_address().empty() ? WithPort(config_.listen(), port_)
                                                   : config_.advertise_address();
  cluster_service_->set_advertise_address(advertise_);
  if (zones_) {
    v1::Peer self;
    self.set_worker_id(config_.node().id());
    self.set_address(advertise_);
    self.set_zone(config_.node().zone());
    self.set_role(routing::RoleName(routing::NodeRole::kMaster));
    zones_->SetSelf(std::move(self));
  } else {
    ParentLink::Options parent;
    parent.parent = config_.node().parent();
    parent.self.set_node_id(config_.node().id());
    parent.self.set_zone(config_.node().zone());
    parent.self.set_address(advertise_);
    parent.self.set_join_token(config_.cluster().join_token());
    parent.interval = FromProto(config_.cluster().heartbeat_interval());
    parent.tokens = &tokens_;
    parent_ = std::make_unique<ParentLink>(std::move(parent), core_->controller());
    parent_->Start();
  }
  ASSIGN_OR_RETURN(http_, http::StartHttpEntry(config_, server_.server.get(), MaxReceiveBytes(),
                                               http::MasterEntry()));
  RefreshRouting();
  housekeeping_ = std::thread([this] { Housekeeping(); });
  FSCHED_LOG(kInfo, "master %s serving on port %d (advertised as %s), %d functions registered",
             config_.node().id(), port_, advertise_, core_->registry()->List().size());
  if (metrics_) FSCHED_LOG(kInfo, "metrics on port %d (/metrics)", metrics_->port());
  if (http_) FSCHED_LOG(kInfo, "%s", http_->Describe());
  return absl::OkStatus();
}

int Master::http_port() const { return http_ ? http_->port() : 0; }

void Master::Housekeeping() {
  NameThisThread("housekeeping");
  // A quarter of the heartbeat interval bounds how late a dead worker is noticed.
  const absl::Duration period = std::clamp(FromProto(config_.cluster().heartbeat_interval()) / 4,
                                           absl::Milliseconds(20), absl::Seconds(1));
  absl::Time next_persist = absl::Now() + absl::Seconds(5);
  while (!stopping_.load()) {
    absl::SleepFor(period);
    core_->scheduler()->OnLost(core_->cluster()->Tick());
    core_->scheduler()->ExpireQueued();
    core_->table()->ExpireResults(absl::Now());
    RefreshRouting();
    PushTokens();
    if (absl::Now() >= next_persist) {
      PersistLearned();
      next_persist = absl::Now() + absl::Seconds(5);
    }
  }
  PersistLearned();
}

v1::ZoneDirectory Master::Directory() { return zones_ ? zones_->List() : parent_->directory(); }

void Master::PushTokens() {
  const uint64_t version = tokens_.version();
  if (version == tokens_pushed_) return;
  tokens_pushed_ = version;
  core_->cluster()->Broadcast(TokensMessage(), v1::RUNTIME_KIND_UNSPECIFIED);
}

v1::MasterMessage Master::TokensMessage() const {
  v1::MasterMessage message;
  *message.mutable_tokens() = tokens_.Snapshot();
  return message;
}

void Master::OnWorkerJoined(const std::string& worker_id) {
  core_->cluster()->SendMembership(worker_id, Masters());
  core_->cluster()->SendTo(worker_id, TokensMessage());
  for (const v1::Function& function : core_->registry()->List()) {
    if (const auto prewarm = PrewarmCommand(function.spec())) {
      core_->cluster()->SendTo(worker_id, *prewarm);  // a worker without the runtime ignores it
    }
  }
}

std::vector<v1::Peer> Master::Masters() {
  const v1::ZoneDirectory directory = Directory();
  return {directory.masters().begin(), directory.masters().end()};
}

void Master::RefreshRouting() {
  const std::vector<v1::Peer> masters = Masters();
  routing::RouteView view;
  for (const v1::Peer& peer : masters) {
    const routing::NodeRef node = routing::FromPeer(peer);
    if (node.id == config_.node().id()) continue;
    if (node.role == routing::NodeRole::kMaster) view.master = node;
    if (node.role == routing::NodeRole::kZoneMaster) view.zone_masters.push_back(node);
  }
  if (is_zone_master() && !view.master) {
    // Before the parent first answers, its address is still known from config.
    view.master =
        routing::NodeRef{"master", config_.node().parent(), "", routing::NodeRole::kMaster};
  }
  for (const v1::Peer& peer : core_->cluster()->ReadyPeers())
    view.workers.push_back(routing::FromPeer(peer));
  {
    absl::MutexLock lock(&view_mu_);
    view_ = std::make_shared<const routing::RouteView>(std::move(view));
  }
  core_->cluster()->PushMembership(masters);
}

std::shared_ptr<const routing::RouteView> Master::View() {
  absl::MutexLock lock(&view_mu_);
  return view_;
}

double Master::RoutingLoad() {
  const ClusterManager::Totals totals = core_->cluster()->GetTotals();
  if (totals.slots == 0) return 1.0;  // no worker: anywhere else is better
  return static_cast<double>(totals.busy + core_->scheduler()->queued()) / totals.slots;
}

void Master::PersistLearned() {
  std::vector<v1::RuntimeModel> models;
  for (const std::string& function : core_->predictor()->TakeDirty()) {
    models.push_back(core_->predictor()->Export(function));
  }
  if (absl::Status stored = core_->store()->PutModels(models); !stored.ok()) {
    FSCHED_LOG(kError, "cannot persist run-time models: %s", stored.message());
  }
  // Call counters and recent durations (GetDurations) survive a restart too.
  if (absl::Status stored = core_->store()->PutHistories(core_->registry()->TakeDirtyHistories());
      !stored.ok()) {
    FSCHED_LOG(kError, "cannot persist function histories: %s", stored.message());
  }
}

void Master::Shutdown() {
  if (stopping_.exchange(true)) return;
  if (metrics_) metrics_->StopServing();
  if (parent_) parent_->Stop();
  // Calls waiting for results would hold the server's shutdown open forever.
  if (core_ && core_->table()) core_->table()->Close();
  if (router_) router_->Shutdown();
  // After the table let waiting calls go, so no HTTP request holds this open.
  http_.reset();
  if (server_.server) server_.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  if (housekeeping_.joinable()) housekeeping_.join();
}

Master::~Master() { Shutdown(); }

}  // namespace fsched::master
