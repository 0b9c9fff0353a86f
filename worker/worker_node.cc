#include "worker/worker_node.h"

#include <pwd.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/function_call.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "http/http_entry.h"
#include "routing/routing_metrics.h"
#include "worker/containerd_engine.h"
#include "worker/cpu_affinity.h"
#include "worker/runc_engine.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

// Where the language runtimes live: configured, or next to the binaries
// (build/share/fsched/runtimes, /usr/share/fsched/runtimes).
std::string RuntimesDir(const Config& config) {
  if (!config.worker().runtimes_dir().empty()) return config.worker().runtimes_dir();
  std::error_code ec;
  return (fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path() / "share" / "fsched" /
          "runtimes")
      .string();
}

ContainerRuntime::Options RuntimeOptions(const Config& config, const std::string& subdir) {
  ContainerRuntime::Options o;
  std::error_code ec;
  o.state_dir = (fs::absolute(config.state_dir(), ec) / subdir).lexically_normal().string();
  o.shim_path = config.worker().shim();
  if (o.shim_path.empty()) {
    // Installed and built alike, the shim sits next to fsched-worker.
    o.shim_path = (fs::read_symlink("/proc/self/exe", ec).parent_path() / "fsched-shim").string();
  }
  o.default_keep_alive = FromProto(config.worker().keep_alive());
  o.warm_memory_budget = config.worker().warm_memory_bytes();
  o.uid = config.worker().function_uid();
  o.rootfs_dirs.assign(config.worker().rootfs_dirs().begin(), config.worker().rootfs_dirs().end());
  o.gid = config.worker().function_gid();
  o.runtimes_dir = RuntimesDir(config);
  // Checked when the worker pinned itself, before any runtime is built.
  if (absl::StatusOr<std::vector<int>> cpus = ParseCpuList(config.worker().cpus()); cpus.ok()) {
    o.cpus = *std::move(cpus);
  }
  o.sched_batch = config.worker().cpu_policy() == config::v1::CPU_POLICY_BATCH;
  return o;
}

// The runtime where `mode` allows it and the engine runs here; an error only
// where it is required.
absl::Status MakeContainerRuntime(config::v1::Switch mode, bool required,
                                  ContainerRuntime::Options options,
                                  std::unique_ptr<ContainerRuntime>* out) {
  if (mode == config::v1::SWITCH_OFF && !required) return absl::OkStatus();
  const std::string engine(options.engine->name());
  absl::StatusOr<std::unique_ptr<ContainerRuntime>> runtime =
      ContainerRuntime::Create(std::move(options));
  if (runtime.ok()) {
    *out = std::move(*runtime);
  } else if (mode == config::v1::SWITCH_ON || required) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", engine, " runtime is required but unavailable: ", runtime.status().message()));
  } else {
    FSCHED_LOG(kInfo, "%s runtime off: %s", engine, runtime.status().message());
  }
  return absl::OkStatus();
}

// The function user must not be the one that owns the worker's state (its
// archives, its containers' state): functions would read and change it. A uid
// without a passwd entry works (the kernel knows numbers only) but is named
// in the log, since `ps` and file listings will show bare numbers.
absl::Status CheckFunctionUser(uid_t uid, gid_t gid, const std::string& state_dir) {
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) == 0 && (st.st_uid == uid || st.st_gid == gid)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "worker.function_uid/function_gid ", uid, ":", gid, " owns the worker's state directory ",
        state_dir, " (", st.st_uid, ":", st.st_gid,
        "); functions would read and change the worker's state. Pick a user of their own, or "
        "chown the state directory to the worker's user"));
  }
  std::vector<char> buffer(16384);
  struct passwd entry {};
  struct passwd* found = nullptr;
  ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    FSCHED_LOG(kInfo,
               "worker.function_uid %u has no entry in the user database: functions run "
               "under that bare number",
               uid);
  } else {
    FSCHED_LOG(kInfo, "process functions run as %s (uid %u, gid %u)", found->pw_name, uid, gid);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerNode>> WorkerNode::Create(const Config& config,
                                                               FatalFn fatal) {
  std::unique_ptr<WorkerNode> node(new WorkerNode(config));
  // First: what starts threads or processes inherits both.
  RETURN_IF_ERROR(node->PinToCpus());
  RETURN_IF_ERROR(node->ApplyCpuPolicy());
  ASSIGN_OR_RETURN(RuntimeMap runtimes, node->BuildRuntimes());
  RETURN_IF_ERROR(node->BuildCache());
  RETURN_IF_ERROR(node->BuildCpuSlices());
  node->BuildExecutor(std::move(runtimes));
  RETURN_IF_ERROR(node->BuildLinks(std::move(fatal)));
  node->BuildServices();
  return node;
}

absl::StatusOr<ChildIdentity> WorkerNode::FunctionIdentity(const std::string& state_dir) const {
  const WorkerConfig& w = config_.worker();
  ChildIdentity identity;
  identity.rlimits = {{RLIMIT_NOFILE, w.function_open_files()},
                      {RLIMIT_NPROC, w.function_processes()},
                      {RLIMIT_FSIZE, w.function_file_size()},
                      {RLIMIT_CORE, 0}};
  if (::geteuid() != 0) {
    FSCHED_LOG(kInfo,
               "process functions run as this worker's user (uid %d): switching to "
               "worker.function_uid needs root",
               ::geteuid());
  } else if (w.functions_as_root()) {
    FSCHED_LOG(kWarning,
               "worker.functions_as_root: process functions run as root and can read and "
               "change everything on this host, the worker's state and token included");
  } else {
    identity.uid = w.function_uid();
    identity.gid = w.function_gid();
    RETURN_IF_ERROR(CheckFunctionUser(w.function_uid(), w.function_gid(), state_dir));
  }
  return identity;
}

absl::Status WorkerNode::UseProcessCgroups() {
  const config::v1::Switch mode = config_.worker().process_cgroups();
  if (mode == config::v1::SWITCH_OFF) return absl::OkStatus();
  constexpr char kParent[] = "/fsched-functions";
  absl::Status usable =
      ::geteuid() == 0 ? cgroups_.Create(kParent)
                       : absl::FailedPreconditionError("making cgroups needs a worker run as root");
  if (!usable.ok()) {
    if (mode == config::v1::SWITCH_ON) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker.process_cgroups is on but ", usable.message()));
    }
    FSCHED_LOG(kInfo,
               "process functions get no cgroups (their memory and CPU limits are not "
               "enforced): %s",
               usable.message());
    return absl::OkStatus();
  }
  process_runtime_.set_cgroups(&cgroups_, kParent, config_.worker().function_processes());
  process_cgroups_ = true;
  return absl::OkStatus();
}

absl::StatusOr<WorkerNode::RuntimeMap> WorkerNode::BuildRuntimes() {
  std::error_code ec;
  const fs::path state = fs::absolute(config_.state_dir(), ec).lexically_normal();
  // Archives by digest: root filesystems of containers, and the files of
  // process functions (tasks) that name one.
  rootfs_cache_ = std::make_unique<RootfsCache>(
      (state / "rootfs-cache").string(), config_.worker().rootfs_cache_bytes(),
      [this](const std::string& digest, const std::string& path) {
        return link_->FetchRootfs(digest, path);
      });
  process_runtime_.set_archives(rootfs_cache_.get());
  // Functions may pass through (their archives live here) but not list it.
  fs::create_directories(state, ec);
  fs::permissions(state, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  ASSIGN_OR_RETURN(ChildIdentity identity, FunctionIdentity(state.string()));
  process_runtime_.set_identity(std::move(identity));
  process_runtime_.set_runtimes_dir(RuntimesDir(config_));
  process_runtime_.set_warm(FromProto(config_.worker().keep_alive()),
                            config_.worker().warm_memory_bytes());
  RETURN_IF_ERROR(UseProcessCgroups());
  {
    ContainerRuntime::Options options = RuntimeOptions(config_, "containers");
    RuncEngine::Options runc;
    runc.root = (state / "containers" / "runc").string();
    options.engine = std::make_shared<RuncEngine>(std::move(runc));
    options.kind = v1::RUNTIME_KIND_RUNC;
    options.rootfs_cache = rootfs_cache_.get();
    RETURN_IF_ERROR(MakeContainerRuntime(config_.worker().runc(),
                                         config_.worker().runtime() == v1::RUNTIME_KIND_RUNC,
                                         std::move(options), &runc_runtime_));
  }
  {
    ContainerRuntime::Options options = RuntimeOptions(config_, "containerd");
    ContainerdEngine::Options containerd;
    containerd.address = config_.worker().containerd_address();
    containerd.ns = config_.worker().containerd_namespace();
    containerd.cgroups = &cgroups_;
    options.engine = std::make_shared<ContainerdEngine>(std::move(containerd));
    options.kind = v1::RUNTIME_KIND_CONTAINERD;
    RETURN_IF_ERROR(MakeContainerRuntime(config_.worker().containerd(), false, std::move(options),
                                         &containerd_runtime_));
  }
  if (std::vector<ContainerRuntime*> containers = ContainerRuntimes();
      (!containers.empty() || process_cgroups_) && config_.worker().cpu_priority()) {
    cpu_priority_ =
        std::make_unique<CpuPriorityLoop>(CpuPriorityOptions{}, &cgroups_, [this, containers] {
          std::vector<RunningFunction> running = process_runtime_.RunningFunctions();
          for (ContainerRuntime* runtime : containers) {
            for (RunningFunction& f : runtime->RunningFunctions()) running.push_back(std::move(f));
          }
          return running;
        });
  }
  Runtime* const fallback = config_.worker().runtime() == v1::RUNTIME_KIND_RUNC
                                ? static_cast<Runtime*>(runc_runtime_.get())
                                : &process_runtime_;
  RuntimeMap runtimes = {{v1::RUNTIME_KIND_UNSPECIFIED, fallback},
                         {v1::RUNTIME_KIND_PROCESS, &process_runtime_}};
  for (ContainerRuntime* runtime : ContainerRuntimes()) runtimes[runtime->kind()] = runtime;
  return runtimes;
}

ResctrlOptions WorkerNode::CacheOptions() const {
  ResctrlOptions options;
  options.default_group_ways = config_.worker().default_group_ways();
  // One file per resctrl mount, so workers sharing a state directory in tests
  // (each with a tree of its own) keep theirs apart.
  std::error_code ec;
  const fs::path state = fs::absolute(config_.state_dir(), ec).lexically_normal();
  options.saved_default_file =
      (state / absl::StrCat("resctrl-default",
                            absl::StrReplaceAll(config_.worker().resctrl_root(), {{"/", "_"}})))
          .string();
  return options;
}

absl::Status WorkerNode::BuildCache() {
  if (config_.worker().resctrl() == config::v1::SWITCH_OFF) {
    cache_unavailable_ = "worker.resctrl is off";
  } else if (absl::StatusOr<std::unique_ptr<ResctrlAllocator>> cache =
                 ResctrlAllocator::Create(config_.worker().resctrl_root(), CacheOptions());
             cache.ok()) {
    cache_ = std::move(*cache);
    FSCHED_LOG(kInfo, "cache partitions on: %d of %d L3 ways, %d CLOSIDs at %s",
               cache_->total_ways(), cache_->info().ways, cache_->info().num_closids,
               config_.worker().resctrl_root());
  } else if (config_.worker().resctrl() == config::v1::SWITCH_ON) {
    return absl::FailedPreconditionError(
        absl::StrCat("cache partitions are required (worker.resctrl: on) but unavailable: ",
                     cache.status().message()));
  } else {
    cache_unavailable_ = std::string(cache.status().message());
    FSCHED_LOG(kInfo, "cache partitions off: %s", cache_unavailable_);
  }
  return absl::OkStatus();
}

absl::Status WorkerNode::BuildCpuSlices() {
  const config::v1::Switch mode = config_.worker().cpu_slices();
  if (mode == config::v1::SWITCH_OFF) return absl::OkStatus();
  if (!KernelTakesCpuSlices()) {
    constexpr char kWhy[] =
        "this kernel takes no CPU slice per task (sched_setattr's sched_runtime for fair "
        "tasks: EEVDF, Linux 6.12+)";
    if (mode == config::v1::SWITCH_ON) {
      return absl::FailedPreconditionError(absl::StrCat("worker.cpu_slices is on but ", kWhy));
    }
    FSCHED_LOG(kInfo, "learned CPU slices off: %s", kWhy);
    return absl::OkStatus();
  }
  CpuSliceOptions options;
  options.alpha = config_.worker().cpu_slice_alpha();
  options.beta = config_.worker().cpu_slice_beta();
  cpu_slices_ = std::make_unique<CpuSlices>(options);
  FSCHED_LOG(kInfo, "learned CPU slices on: min(mean x %g, 200ms) - %g x stddev", options.alpha,
             options.beta);
  return absl::OkStatus();
}

absl::Status WorkerNode::PinToCpus() {
  const std::string& list = config_.worker().cpus();
  if (list.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<int>> cpus = ParseCpuList(list);
  absl::Status pinned = cpus.ok() ? PinProcessToCpus(*cpus) : cpus.status();
  if (!pinned.ok()) {
    return absl::Status(pinned.code(), absl::StrCat("worker.cpus: ", pinned.message()));
  }
  pinned_cpus_ = static_cast<uint32_t>(cpus->size());
  FSCHED_LOG(kInfo, "this worker and the functions it starts run on CPUs %s", FormatCpuList(*cpus));
  return absl::OkStatus();
}

absl::Status WorkerNode::ApplyCpuPolicy() {
  const bool batch = config_.worker().cpu_policy() == config::v1::CPU_POLICY_BATCH;
  // Nothing to change (every thread so far came from this one): no call that a
  // seccomp profile might refuse for a worker that asked for nothing.
  if (absl::StatusOr<int> now = CpuPolicyOf(0); now.ok() && *now == SCHED_OTHER && !batch) {
    return absl::OkStatus();
  }
  if (absl::Status set = SetProcessCpuPolicy(batch ? SCHED_BATCH : SCHED_OTHER); !set.ok()) {
    return absl::Status(set.code(), absl::StrCat("worker.cpu_policy: ", set.message()));
  }
  FSCHED_LOG(kInfo, "this worker and the functions it starts run under %s (worker.cpu_policy)",
             batch ? "SCHED_BATCH" : "SCHED_OTHER");
  return absl::OkStatus();
}

void WorkerNode::BuildExecutor(RuntimeMap runtimes) {
  const uint32_t slots = config_.worker().slots() > 0 ? config_.worker().slots()
                         : pinned_cpus_ > 0           ? pinned_cpus_
                                                      : HostMonitor::Cores();
  Executor::Options exec_options;
  exec_options.slots = slots;
  exec_options.output_limit_bytes = config_.worker().output_limit_bytes();
  exec_options.default_timeout = FromProto(config_.scheduler().default_timeout());
  exec_options.cache = cache_.get();
  exec_options.cpu_slices = cpu_slices_.get();
  // Two masters (the master and the zone master) and direct calls share the slots; what
  // exceeds them waits here rather than failing.
  exec_options.max_waiting = config_.worker().waiting_per_slot() * slots;
  executor_ = std::make_unique<Executor>(exec_options, std::move(runtimes));
}

absl::Status WorkerNode::BuildLinks(FatalFn fatal) {
  MasterLink::Options link_options;
  link_options.zone = config_.node().zone();
  link_options.labels = {config_.node().labels().begin(), config_.node().labels().end()};
  link_options.reconnect_min = FromProto(config_.worker().reconnect_min());
  link_options.reconnect_max = FromProto(config_.worker().reconnect_max());
  link_options.max_buffered_bytes = config_.worker().buffered_result_bytes();
  refused_ = std::move(fatal);
  MasterLinkCallbacks* const callbacks = this;
  link_ = std::make_unique<MasterLink>(link_options, executor_.get(), callbacks);
  zone_link_ = std::make_unique<MasterLink>(link_options, executor_.get(), callbacks);
  functions_ = std::make_unique<FunctionSource>([this] { return MasterAddresses(); });
  routing_ = std::make_unique<routing::RoutingState>(config_.tail_scheduler(), RealClock::Get());
  if (absl::StatusOr<v1::Architecture> a =
          routing_->SetArchitecture(ConfigEnumName(config_.architecture()));
      !a.ok()) {
    return absl::Status(a.status().code(), absl::StrCat("architecture: ", a.status().message()));
  }
  if (!config_.worker().master().empty()) {
    RETURN_IF_ERROR(link_->SetMaster(config_.worker().master(), config_.cluster().join_token()));
  }
  return absl::OkStatus();
}

void WorkerNode::BuildServices() {
  Gate::Options gate;
  gate.open = config_.auth().mode() == config::v1::AUTH_MODE_NONE;
  for (const config::v1::CertificateRole& c : config_.auth().certificates()) {
    gate.certificates[c.name()] = c.role();
  }
  gate.cluster_token = config_.cluster().join_token();
  gate.tokens = &tokens_;
  gate_ = std::make_unique<Gate>(std::move(gate));
  service_ =
      std::make_unique<WorkerService>(gate_.get(), link_.get(), static_cast<WorkerState*>(this));
  WorkerAdminService::Options admin;
  admin.gate = gate_.get();
  admin.node_id = config_.node().id();
  admin.zone = config_.node().zone();
  admin.config_yaml = ConfigToYaml(config_);
  admin.routing = routing_.get();
  admin.node = this;
  admin_service_ = std::make_unique<WorkerAdminService>(std::move(admin));
}

absl::Status WorkerNode::Start() {
  ASSIGN_OR_RETURN(server_,
                   StartServer(config_.listen(), {service_.get(), admin_service_.get()},
                               config_.worker().max_payload_bytes() + kMessageEnvelopeBytes));
  port_ = server_.port;
  const std::string address = config_.advertise_address().empty()
                                  ? WithPort(config_.listen(), port_)
                                  : config_.advertise_address();
  worker_id_ = config_.node().id();
  if (worker_id_.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    worker_id_ = absl::StrCat(host, "-", port_);
  }
  // Before the link starts: every call from the first assignment is counted.
  if (!config_.metrics().listen().empty()) {
    WorkerMetrics::Options options;
    options.node_id = worker_id_;
    options.zone = config_.node().zone();
    options.executor = executor_.get();
    options.cache = cache_.get();
    options.node = this;
    options.routing = routing_.get();
    ASSIGN_OR_RETURN(metrics_, WorkerMetrics::Start(config_.metrics(), std::move(options)));
    executor_->set_observer(metrics_.get());
  }
  admin_service_->set_node_id(worker_id_);
  ASSIGN_OR_RETURN(
      http_, http::StartHttpEntry(config_, server_.server.get(),
                                  config_.worker().max_payload_bytes() + kMessageEnvelopeBytes,
                                  http::WorkerEntry()));
  link_->Start(worker_id_, address);
  zone_link_->Start(worker_id_, address);
  routing::Router::Options router_options;
  router_options.self = {worker_id_, address, config_.node().zone(), routing::NodeRole::kWorker};
  router_options.emulation = config_.network_emulation();
  router_options.seed = static_cast<uint64_t>(port_);
  router_ = std::make_unique<routing::Router>(std::move(router_options),
                                              static_cast<routing::RouterCallbacks*>(this),
                                              routing_.get(), RealClock::Get());
  service_->set_router(router_.get());
  FSCHED_LOG(
      kInfo, "worker %s serving on %s with %d slots; master %s", worker_id_, address,
      executor_->slots(),
      config_.worker().master().empty() ? "(none: waiting for Join)" : config_.worker().master());
  if (metrics_) FSCHED_LOG(kInfo, "metrics on port %d (/metrics)", metrics_->port());
  if (http_) FSCHED_LOG(kInfo, "%s", http_->Describe());
  return absl::OkStatus();
}

WorkerNode::WorkerNode(const Config& config) : config_(config) {}

int WorkerNode::http_port() const { return http_ ? http_->port() : 0; }

void WorkerNode::Shutdown() {
  if (metrics_) metrics_->StopServing();
  if (router_) router_->Shutdown();
  {
    // Direct calls hold their callers' RPCs open: end them (CANCELLED) so the
    // server's shutdown does not wait for the functions.
    absl::MutexLock lock(&direct_mu_);
    stopping_direct_ = true;
    for (const std::string& id : direct_running_) executor_->Cancel(id);
  }
  http_.reset();  // waits for its requests, whose direct calls were just cancelled
  if (link_) link_->Stop();
  if (zone_link_) zone_link_->Stop();
  if (server_.server) {
    server_.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    server_.server.reset();
  }
}

WorkerNode::~WorkerNode() {
  Shutdown();
  // No assignment arrives once the link's threads are joined; the link object
  // itself outlives the executor and the runtimes, whose last results and
  // root filesystem fetches still go through it.
  if (link_) link_->Join();
  if (zone_link_) zone_link_->Join();
  functions_.reset();  // waits for lookups in flight, which may still start calls
  executor_.reset();
  cpu_priority_.reset();
  runc_runtime_.reset();  // after the executor: no call is running in a container now
  containerd_runtime_.reset();
  zone_link_.reset();
  link_.reset();
}

void WorkerNode::OnMembership(const v1::Membership& membership) {
  std::string zone_master;
  {
    absl::MutexLock lock(&membership_mu_);
    // Both masters push; peers are this zone's either way. A push without
    // masters (a zone master not yet heard back from its parent) keeps the
    // masters known from the other.
    *membership_.mutable_peers() = membership.peers();
    if (membership.masters_size() > 0) *membership_.mutable_masters() = membership.masters();
    for (const v1::Peer& m : membership_.masters()) {
      if (routing::PeerRole(m) == routing::NodeRole::kZoneMaster &&
          m.zone() == config_.node().zone())
        zone_master = m.address();
    }
  }
  if (!zone_master.empty() && zone_master != zone_link_->master_address()) {
    FSCHED_LOG(kInfo, "joining zone %s's master at %s", config_.node().zone(), zone_master);
    if (absl::Status s = zone_link_->SetMaster(zone_master, config_.cluster().join_token(), true);
        !s.ok()) {
      FSCHED_LOG(kWarning, "cannot join zone master %s: %s", zone_master, s.message());
    }
  }
}

std::shared_ptr<const routing::RouteView> WorkerNode::View() {
  routing::RouteView view;
  absl::MutexLock lock(&membership_mu_);
  for (const v1::Peer& peer : membership_.masters()) {
    routing::NodeRef node = routing::FromPeer(peer);
    if (node.role == routing::NodeRole::kMaster) view.master = node;
    if (node.role != routing::NodeRole::kZoneMaster) continue;
    if (node.zone == config_.node().zone()) view.zone_master = node;
    view.zone_masters.push_back(std::move(node));
  }
  if (!view.master && !link_->master_address().empty()) {
    // Joined, but no membership yet: the master it joined stands in.
    view.master =
        routing::NodeRef{"master", link_->master_address(), "", routing::NodeRole::kMaster};
  }
  for (const v1::Peer& peer : membership_.peers()) view.workers.push_back(routing::FromPeer(peer));
  return std::make_shared<const routing::RouteView>(std::move(view));
}

std::vector<std::string> WorkerNode::MasterAddresses() {
  std::vector<std::string> out;
  if (std::string zone = zone_link_->master_address(); !zone.empty()) out.push_back(zone);
  if (std::string master = link_->master_address(); !master.empty()) out.push_back(master);
  return out;
}

void WorkerNode::OnPrewarm(const v1::Prewarm& prewarm) {
  const v1::RuntimeKind kind = prewarm.function().runtime();
  if (kind == v1::RUNTIME_KIND_PROCESS ||
      (kind == v1::RUNTIME_KIND_UNSPECIFIED &&
       config_.worker().runtime() == v1::RUNTIME_KIND_PROCESS)) {
    process_runtime_.Prewarm(prewarm.function(), prewarm.count());
  }
  for (ContainerRuntime* runtime : ContainerRuntimes()) {
    if (prewarm.function().runtime() == runtime->kind()) {
      runtime->Prewarm(prewarm.function(), prewarm.count());
    }
  }
}

void WorkerNode::OnEvict(const v1::Evict& evict) {
  process_runtime_.Evict(evict.function());
  for (ContainerRuntime* runtime : ContainerRuntimes()) runtime->Evict(evict.function());
}

void WorkerNode::OnRefused(const absl::Status& status) {
  // Both links may be refused; the process is told once.
  if (refused_once_.exchange(true)) return;
  if (refused_) refused_(status);
}

uint32_t WorkerNode::Slots() { return executor_->slots(); }

uint64_t WorkerNode::Waiting() { return executor_->Waiting(); }

std::string WorkerNode::MasterAddress() { return link_->master_address(); }

bool WorkerNode::MasterConnected() { return link_->connected(); }

double WorkerNode::RoutingLoad() { return executor_->Busy(); }

void WorkerNode::OnEntryDone(v1::Architecture architecture,
                             const absl::StatusOr<v1::InvocationResult>& result,
                             absl::Duration elapsed) {
  if (metrics_) metrics_->routing()->OnEntryDone(architecture, result, elapsed);
}

void WorkerNode::ServeHere(const v1::InvokeRequest& request, const routing::RouteAccepted&,
                           routing::RouteDone done) {
  if (request.payload().size() > config_.scheduler().max_payload_bytes()) {
    done(absl::InvalidArgumentError(absl::StrCat("payload is ", request.payload().size(),
                                                 " bytes; the limit is ",
                                                 config_.scheduler().max_payload_bytes())));
    return;
  }
  functions_->Get(request.function(),
                  [this, request, done = std::move(done)](absl::StatusOr<v1::FunctionSpec> spec) {
                    if (!spec.ok()) {
                      done(spec.status());
                      return;
                    }
                    if (absl::Status fits = CheckCallFits(request, *spec); !fits.ok()) {
                      done(fits);
                      return;
                    }
                    RunWith(request, *spec, std::move(done));
                  });
}

void WorkerNode::RunWith(const v1::InvokeRequest& request, const v1::FunctionSpec& spec,
                         routing::Router::Done done) {
  v1::Assignment a;
  const std::string id = absl::StrCat("direct-", worker_id_, "-", direct_calls_.fetch_add(1) + 1);
  a.set_invocation_id(id);
  a.set_attempt(1);
  *a.mutable_function() = spec;
  a.set_payload(request.payload());
  *a.mutable_args() = request.args();
  if (request.has_timeout()) {
    *a.mutable_timeout() = request.timeout();
  } else if (spec.limits().has_timeout()) {
    *a.mutable_timeout() = spec.limits().timeout();
  }
  a.set_cache_ways(request.cache_ways() > 0 ? request.cache_ways() : spec.limits().cache_ways());
  a.set_hops(request.hops());
  a.set_architecture(request.architecture());
  a.set_input_size(request.input_size());
  ToProto(absl::Now(), a.mutable_submitted());
  auto shared_done = std::make_shared<routing::Router::Done>(std::move(done));
  absl::Status accepted;
  {
    absl::MutexLock lock(&direct_mu_);
    if (stopping_direct_) {
      accepted = absl::UnavailableError("this worker is shutting down");
    } else {
      accepted = executor_->Submit(std::move(a), [this, id, shared_done](v1::InvocationResult r) {
        {
          absl::MutexLock lock(&direct_mu_);
          direct_running_.erase(id);
        }
        r.set_worker_id(worker_id_);
        r.set_zone(config_.node().zone());
        (*shared_done)(std::move(r));
      });
      if (accepted.ok()) direct_running_.insert(id);
    }
  }
  if (!accepted.ok()) (*shared_done)(accepted);
}

v1::WorkerCapacity WorkerNode::Capacity() {
  v1::WorkerCapacity capacity;
  capacity.set_cores(pinned_cpus_ > 0 ? pinned_cpus_ : HostMonitor::Cores());
  if (auto load = host_.Sample(); load.ok()) capacity.set_memory_bytes(load->memory_total_bytes);
  capacity.set_slots(executor_->slots());
  for (v1::RuntimeKind kind : executor_->Kinds()) capacity.add_runtimes(kind);
  capacity.set_freeze_supported(true);  // process groups by signal, containers by runc pause
  capacity.set_cpu_weights_supported(cpu_priority_ != nullptr);
  capacity.set_cat_supported(cache_ != nullptr);
  if (cache_ != nullptr) {
    capacity.set_cache_ways(cache_->total_ways());
    capacity.set_cache_bytes(HostMonitor::L3CacheBytes());
  } else {
    capacity.set_cat_unsupported_reason(cache_unavailable_);
  }
  utsname uts{};
  if (uname(&uts) == 0) capacity.set_kernel(absl::StrCat(uts.sysname, " ", uts.release));
  return capacity;
}

namespace {

void SetHost(const HostLoad& host, v1::WorkerLoad* load) {
  load->set_load1(host.load1);
  load->set_load5(host.load5);
  load->set_load15(host.load15);
  load->set_cpu_percent(host.cpu_percent);
  load->set_memory_percent(host.memory_percent);
  load->set_memory_available_bytes(host.memory_available_bytes);
}

}  // namespace

v1::WorkerLoad WorkerNode::Load() {
  v1::WorkerLoad load = CallsLoad();
  absl::StatusOr<HostLoad> host = host_.Sample();
  if (host.ok()) {
    SetHost(*host, &load);
    if (cpu_slices_ != nullptr) cpu_slices_->set_cpu_share(host->cpu_percent / 100);
    absl::MutexLock lock(&host_mu_);
    last_host_ = *host;
  } else {
    FSCHED_LOG(kWarning, "cannot sample host load: %s", host.status().message());
  }
  return load;
}

v1::WorkerLoad WorkerNode::ScrapeLoad() {
  std::optional<HostLoad> host;
  {
    absl::MutexLock lock(&host_mu_);
    host = last_host_;
  }
  if (!host) return Load();  // no heartbeat sampled yet: this is the first sample
  v1::WorkerLoad load = CallsLoad();
  SetHost(*host, &load);
  return load;
}

v1::WorkerLoad WorkerNode::CallsLoad() {
  v1::WorkerLoad load;
  load.set_running(static_cast<uint32_t>(executor_->Running().size()));
  if (cache_ != nullptr) load.set_cache_ways_free(cache_->free_ways());
  for (v1::WarmInstance& warm : process_runtime_.WarmSet()) *load.add_warm() = std::move(warm);
  for (ContainerRuntime* runtime : ContainerRuntimes()) {
    for (v1::WarmInstance& warm : runtime->WarmSet()) *load.add_warm() = std::move(warm);
  }
  return load;
}

std::vector<ContainerRuntime*> WorkerNode::ContainerRuntimes() const {
  std::vector<ContainerRuntime*> out;
  if (runc_runtime_) out.push_back(runc_runtime_.get());
  if (containerd_runtime_) out.push_back(containerd_runtime_.get());
  return out;
}

void WorkerNode::Status(v1::WorkerStatus* out) {
  out->set_worker_id(link_->worker_id());
  out->set_master_address(link_->master_address());
  out->set_connected(link_->connected());
  *out->mutable_capacity() = Capacity();
  *out->mutable_load() = Load();
  for (const std::string& id : executor_->Running()) out->add_running(id);
}

}  // namespace fsched::worker
