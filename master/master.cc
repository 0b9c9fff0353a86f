#include "master/master.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "routing/routing_metrics.h"
#include "scheduling/policy_factory.h"

namespace fsched::master {
namespace {

// The command that keeps a function's pre-created instances on a worker, if
// its warm policy asks for any (only container functions have instances).
std::optional<v1::MasterMessage> PrewarmCommand(const v1::FunctionSpec& spec) {
  const bool container =
      spec.runtime() == v1::RUNTIME_KIND_RUNC || spec.runtime() == v1::RUNTIME_KIND_CONTAINERD;
  if (!container || spec.warm().prewarmed() == 0) return std::nullopt;
  v1::MasterMessage message;
  *message.mutable_prewarm()->mutable_function() = spec;
  message.mutable_prewarm()->set_count(spec.warm().prewarmed());
  return message;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Master>> Master::Create(const Config& config) {
  std::unique_ptr<Master> m(new Master(config));
  m->timers_ = std::make_unique<TimerQueue>();
  ASSIGN_OR_RETURN(m->store_, FunctionStore::Open(config.state_dir()));
  ASSIGN_OR_RETURN(m->rootfs_, RootfsStore::Open(config.state_dir() + "/rootfs",
                                                 config.cluster().max_rootfs_bytes()));
  FunctionLimits limits;
  limits.max_timeout = FromProto(config.scheduler().max_timeout());
  ASSIGN_OR_RETURN(m->registry_, FunctionRegistry::Create(m->store_.get(), limits, m->clock_));

  ClusterManager::Options cluster_options;
  cluster_options.join_token = config.cluster().join_token();
  cluster_options.heartbeat_interval = FromProto(config.cluster().heartbeat_interval());
  cluster_options.heartbeat_timeout = FromProto(config.cluster().heartbeat_timeout());
  m->cluster_ = std::make_unique<ClusterManager>(cluster_options, m->clock_);
  m->table_ = std::make_unique<InvocationTable>(config.scheduler().retained_results());
  m->routing_ = std::make_unique<routing::RoutingState>(config.tail_scheduler(), m->clock_);
  if (absl::StatusOr<v1::Architecture> a =
          m->routing_->SetArchitecture(ConfigEnumName(config.architecture()));
      !a.ok()) {
    return absl::Status(a.status().code(), absl::StrCat("architecture: ", a.status().message()));
  }
  scheduling::RuntimePredictor::Options predictor_options;
  predictor_options.history = config.scheduler().predictor_history();
  predictor_options.default_estimate = FromProto(config.scheduler().default_estimate());
  m->predictor_ = std::make_unique<scheduling::RuntimePredictor>(predictor_options);
  ASSIGN_OR_RETURN(std::vector<v1::RuntimeModel> models, m->store_->LoadModels());
  for (const v1::RuntimeModel& model : models) m->predictor_->Import(model);

  scheduling::QueueOrderOptions order_options;
  order_options.aging_rate = config.scheduler().aging_rate();
  order_options.max_wait = FromProto(config.scheduler().max_wait());
  ASSIGN_OR_RETURN(std::unique_ptr<scheduling::QueueOrder> order,
                   scheduling::MakeQueueOrder(config.scheduler().queue_order(), order_options));
  ASSIGN_OR_RETURN(std::unique_ptr<scheduling::PlacementPolicy> placement,
                   scheduling::MakePlacementPolicy(config.scheduler().placement()));
  Scheduler::Options scheduler_options;
  scheduler_options.queue_timeout = FromProto(config.scheduler().queue_timeout());
  scheduler_options.max_queue = config.scheduler().max_queue();
  scheduler_options.preemption = config.scheduler().preemption();
  scheduler_options.preempt_gap = FromProto(config.scheduler().preempt_gap());
  scheduler_options.max_attempts = config.scheduler().max_attempts();
  m->scheduler_ = std::make_unique<Scheduler>(scheduler_options, m->cluster_.get(), m->table_.get(),
                                              m->registry_.get(), m->predictor_.get(), m->clock_,
                                              std::move(order), std::move(placement));
  m->scheduler_->set_order_options(order_options);
  m->llc_ = std::make_unique<scheduling::LlcPredictor>();
  ASSIGN_OR_RETURN(std::vector<v1::LlcProfile> profiles, m->store_->LoadLlcProfiles());
  for (const v1::LlcProfile& profile : profiles) m->llc_->Import(profile);
  m->scheduler_->set_llc_predictor(m->llc_.get());

  Controller::Options controller_options;
  controller_options.max_payload_bytes = config.scheduler().max_payload_bytes();
  controller_options.default_timeout = FromProto(config.scheduler().default_timeout());
  controller_options.max_timeout = FromProto(config.scheduler().max_timeout());
  // Warm policies become worker commands: pre-warm on register and on join,
  // evict on delete. Workers without the function's runtime never receive
  // pre-warm commands; evict goes to all (the deleted spec is gone).
  Master* self = m.get();
  controller_options.on_registered = [self](const v1::Function& function) {
    if (const auto prewarm = PrewarmCommand(function.spec())) {
      self->cluster_->Broadcast(*prewarm, function.spec().runtime());
    }
  };
  controller_options.rootfs_exists = [self](const std::string& digest) {
    // A zone master mirrors functions the cloud master checked; its workers
    // fetch root filesystems from the cloud master.
    return self->is_zone_master() || self->rootfs_->Has(digest);
  };
  controller_options.worker_ready = [self](const std::string& worker_id) {
    absl::StatusOr<v1::WorkerInfo> w = self->cluster_->Get(worker_id);
    return w.ok() && w->state() == v1::WORKER_STATE_READY;
  };
  controller_options.on_deleted = [self](const std::string& name) {
    v1::MasterMessage evict;
    evict.mutable_evict()->set_function(name);
    self->cluster_->Broadcast(evict, v1::RUNTIME_KIND_UNSPECIFIED);
  };
  m->controller_ = std::make_unique<Controller>(controller_options, m->registry_.get(),
                                                m->table_.get(), m->scheduler_.get(),
                                                m->predictor_.get(), m->timers_.get(), m->clock_);
  m->tasks_ = std::make_unique<TaskFlow>(m->controller_.get(), m->store_.get(), m->llc_.get(),
                                         m->cluster_.get());
  RETURN_IF_ERROR(m->tasks_->Load());

  m->controller_service_ =
      std::make_unique<ControllerService>(m->controller_.get(), m->rootfs_.get(), m->tasks_.get());
  if (m->is_zone_master()) {
    m->controller_service_->set_mirrors(config.node().parent());
  } else {
    m->zones_ =
        std::make_unique<ZoneDirectory>(FromProto(config.cluster().heartbeat_timeout()), m->clock_);
  }
  routing::Router::Options router_options;
  router_options.self.id = config.node().id();
  router_options.self.zone = config.node().zone();
  router_options.self.role =
      m->is_zone_master() ? routing::NodeRole::kEdge : routing::NodeRole::kCloud;
  router_options.emulation = config.network_emulation();
  router_options.view = [self] { return self->View(); };
  router_options.load = [self] { return self->ZoneLoad(); };
  router_options.on_entry_done = [self](v1::Architecture architecture,
                                        const absl::StatusOr<v1::InvocationResult>& result,
                                        absl::Duration elapsed) {
    if (self->metrics_) self->metrics_->routing()->OnEntryDone(architecture, result, elapsed);
  };
  router_options.serve_here = [self](const v1::InvokeRequest& request, routing::Router::Done done) {
    auto shared_done = std::make_shared<routing::Router::Done>(std::move(done));
    absl::StatusOr<std::string> id =
        self->controller_->Submit(request, [shared_done](const v1::Invocation& finished) {
          if (finished.state() != v1::INVOCATION_STATE_DONE) {
            (*shared_done)(absl::UnavailableError(
                absl::StrCat("the master shut down before invocation ", finished.id(),
                             " finished; its result is lost with this master")));
            return;
          }
          (*shared_done)(finished.result());
        });
    if (!id.ok()) (*shared_done)(id.status());
  };
  m->router_ =
      std::make_unique<routing::Router>(std::move(router_options), m->routing_.get(), m->clock_);
  m->controller_service_->set_router(m->router_.get());
  ClusterService::Options cluster_service_options;
  cluster_service_options.join_token = config.cluster().join_token();
  cluster_service_options.add_worker_timeout = FromProto(config.cluster().add_worker_timeout());
  cluster_service_options.zones = m->zones_.get();
  cluster_service_options.masters = [self] {
    return self->zones_ ? self->zones_->List() : self->parent_->directory();
  };
  m->cluster_service_ = std::make_unique<ClusterService>(cluster_service_options, m->cluster_.get(),
                                                         m->scheduler_.get());
  WorkerLinkService::Parts link_parts;
  link_parts.cluster = m->cluster_.get();
  link_parts.scheduler = m->scheduler_.get();
  link_parts.timers = m->timers_.get();
  link_parts.rootfs = m->rootfs_.get();
  link_parts.join_token = config.cluster().join_token();
  link_parts.register_timeout = FromProto(config.cluster().register_timeout());
  link_parts.on_joined = [self](const std::string& worker_id) {
    self->cluster_->SendMembership(worker_id, self->Masters());
    for (const v1::Function& function : self->registry_->List()) {
      if (const auto prewarm = PrewarmCommand(function.spec())) {
        self->cluster_->SendTo(worker_id, *prewarm);  // a worker without the runtime ignores it
      }
    }
  };
  m->link_service_ = std::make_unique<WorkerLinkService>(std::move(link_parts));
  AdminService::Sources sources;
  sources.node_id = config.node().id();
  sources.role = ConfigEnumName(config.node().role());
  sources.zone = config.node().zone();
  sources.config_yaml = ConfigToYaml(config);
  sources.cluster = m->cluster_.get();
  sources.scheduler = m->scheduler_.get();
  sources.registry = m->registry_.get();
  sources.table = m->table_.get();
  sources.controller = m->controller_.get();
  sources.host = &m->host_;
  sources.routing = m->routing_.get();
  m->admin_service_ = std::make_unique<AdminService>(std::move(sources));
  return m;
}

absl::Status Master::Start() {
  // Metrics first: every result and routed request from the first one is counted.
  if (!config_.metrics().listen().empty()) {
    MasterMetrics::Sources sources;
    sources.node_id = config_.node().id();
    sources.role = is_zone_master() ? "edge" : "cloud";
    sources.zone = config_.node().zone();
    sources.cluster = cluster_.get();
    sources.scheduler = scheduler_.get();
    sources.table = table_.get();
    sources.registry = registry_.get();
    sources.routing = routing_.get();
    ASSIGN_OR_RETURN(metrics_, MasterMetrics::Start(config_.metrics(), std::move(sources)));
    MasterMetrics* metrics = metrics_.get();
    table_->set_on_complete(
        [metrics](const v1::InvocationResult& result) { metrics->OnComplete(result); });
  }
  ASSIGN_OR_RETURN(server_,
                   StartServer(config_.listen(), {controller_service_.get(), cluster_service_.get(),
                                                  admin_service_.get(), link_service_.get()}));
  port_ = server_.port;
  advertise_ = config_.advertise_address().empty() ? WithPort(config_.listen(), port_)
                                                   : config_.advertise_address();
  cluster_service_->set_advertise_address(advertise_);
  if (zones_) {
    v1::Peer self;
    self.set_worker_id(config_.node().id());
    self.set_address(advertise_);
    self.set_zone(config_.node().zone());
    self.set_role("cloud");
    zones_->SetSelf(std::move(self));
  } else {
    ParentLink::Options parent;
    parent.parent = config_.node().parent();
    parent.self.set_node_id(config_.node().id());
    parent.self.set_zone(config_.node().zone());
    parent.self.set_address(advertise_);
    parent.self.set_join_token(config_.cluster().join_token());
    parent.interval = FromProto(config_.cluster().heartbeat_interval());
    parent_ = std::make_unique<ParentLink>(std::move(parent), controller_.get());
    parent_->Start();
  }
  RefreshRouting();
  housekeeping_ = std::thread([this] { Housekeeping(); });
  FSCHED_LOG(kInfo, "master %s serving on port %d (advertised as %s), %d functions registered",
             config_.node().id(), port_, advertise_, registry_->List().size());
  if (metrics_) FSCHED_LOG(kInfo, "metrics on port %d (/metrics)", metrics_->port());
  return absl::OkStatus();
}

void Master::Housekeeping() {
  // A quarter of the heartbeat interval bounds how late a dead worker is noticed.
  const absl::Duration period = std::clamp(FromProto(config_.cluster().heartbeat_interval()) / 4,
                                           absl::Milliseconds(20), absl::Seconds(1));
  absl::Time next_persist = absl::Now() + absl::Seconds(5);
  while (!stopping_.load()) {
    absl::SleepFor(period);
    scheduler_->OnLost(cluster_->Tick());
    scheduler_->ExpireQueued();
    RefreshRouting();
    if (absl::Now() >= next_persist) {
      PersistModels();
      next_persist = absl::Now() + absl::Seconds(5);
    }
  }
  PersistModels();
}

std::vector<v1::Peer> Master::Masters() {
  const v1::ZoneDirectory directory = zones_ ? zones_->List() : parent_->directory();
  return {directory.masters().begin(), directory.masters().end()};
}

void Master::RefreshRouting() {
  const std::vector<v1::Peer> masters = Masters();
  routing::RouteView view;
  for (const v1::Peer& peer : masters) {
    const routing::NodeRef node = routing::FromPeer(peer);
    if (node.id == config_.node().id()) continue;
    if (node.role == routing::NodeRole::kCloud) view.cloud = node;
    if (node.role == routing::NodeRole::kEdge) view.zone_masters.push_back(node);
  }
  if (is_zone_master() && !view.cloud) {
    // Before the parent first answers, its address is still known from config.
    view.cloud = routing::NodeRef{"cloud", config_.node().parent(), "", routing::NodeRole::kCloud};
  }
  for (const v1::Peer& peer : cluster_->ReadyPeers())
    view.workers.push_back(routing::FromPeer(peer));
  {
    absl::MutexLock lock(&view_mu_);
    view_ = std::make_shared<const routing::RouteView>(std::move(view));
  }
  cluster_->PushMembership(masters);
}

std::shared_ptr<const routing::RouteView> Master::View() {
  absl::MutexLock lock(&view_mu_);
  return view_;
}

double Master::ZoneLoad() {
  const ClusterManager::Totals totals = cluster_->GetTotals();
  if (totals.slots == 0) return 1.0;  // no worker: anywhere else is better
  return static_cast<double>(totals.busy + scheduler_->queued()) / totals.slots;
}

void Master::PersistModels() {
  std::vector<v1::RuntimeModel> models;
  for (const std::string& function : predictor_->TakeDirty()) {
    models.push_back(predictor_->Export(function));
  }
  if (absl::Status stored = store_->PutModels(models); !stored.ok()) {
    FSCHED_LOG(kError, "cannot persist run-time models: %s", stored.message());
  }
}

void Master::Shutdown() {
  if (stopping_.exchange(true)) return;
  if (metrics_) metrics_->StopServing();
  if (parent_) parent_->Stop();
  // Calls waiting for results would hold the server's shutdown open forever.
  if (table_) table_->Close();
  if (router_) router_->Shutdown();
  if (server_.server) server_.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  if (housekeeping_.joinable()) housekeeping_.join();
}

Master::~Master() { Shutdown(); }

}  // namespace fsched::master
