#include "worker/worker_node.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "worker/containerd_engine.h"
#include "worker/runc_engine.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

ContainerRuntime::Options RuntimeOptions(const Config& config, const std::string& subdir) {
  ContainerRuntime::Options o;
  std::error_code ec;
  o.state_dir = (fs::absolute(config.state_dir, ec) / subdir).lexically_normal().string();
  o.shim_path = config.worker.shim;
  if (o.shim_path.empty()) {
    // Installed and built alike, the shim sits next to fsched-worker.
    o.shim_path = (fs::read_symlink("/proc/self/exe", ec).parent_path() / "fsched-shim").string();
  }
  o.default_keep_alive = config.worker.keep_alive;
  o.warm_memory_budget = config.worker.warm_memory_bytes;
  o.uid = config.worker.container_uid;
  o.gid = config.worker.container_gid;
  return o;
}

// The runtime where `mode` allows it and the engine runs here; an error only
// where it is required.
absl::Status MakeContainerRuntime(const std::string& mode, bool required,
                                  ContainerRuntime::Options options,
                                  std::unique_ptr<ContainerRuntime>* out) {
  if (mode == "off" && !required) return absl::OkStatus();
  const std::string engine(options.engine->name());
  absl::StatusOr<std::unique_ptr<ContainerRuntime>> runtime =
      ContainerRuntime::Create(std::move(options));
  if (runtime.ok()) {
    *out = std::move(*runtime);
  } else if (mode == "on" || required) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", engine, " runtime is required but unavailable: ", runtime.status().message()));
  } else {
    FSCHED_LOG(kInfo, "%s runtime off: %s", engine, runtime.status().message());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerNode>> WorkerNode::Create(const Config& config,
                                                               FatalFn fatal) {
  std::unique_ptr<WorkerNode> node(new WorkerNode(config));
  WorkerNode* self = node.get();
  std::error_code ec;
  const fs::path state = fs::absolute(config.state_dir, ec).lexically_normal();
  // Archives by digest: root filesystems of containers, and the files of
  // process functions (tasks) that name one.
  node->rootfs_cache_ =
      std::make_unique<RootfsCache>((state / "rootfs-cache").string(),
                                    [self](const std::string& digest, const std::string& path) {
                                      return self->link_->FetchRootfs(digest, path);
                                    });
  node->process_runtime_.set_archives(node->rootfs_cache_.get());
  {
    ContainerRuntime::Options options = RuntimeOptions(config, "containers");
    RuncEngine::Options runc;
    runc.root = (state / "containers" / "runc").string();
    options.engine = std::make_shared<RuncEngine>(std::move(runc));
    options.kind = v1::RUNTIME_KIND_RUNC;
    options.rootfs_cache = node->rootfs_cache_.get();
    RETURN_IF_ERROR(MakeContainerRuntime(config.worker.runc, config.worker.runtime == "runc",
                                         std::move(options), &node->runc_runtime_));
  }
  {
    ContainerRuntime::Options options = RuntimeOptions(config, "containerd");
    ContainerdEngine::Options containerd;
    containerd.address = config.worker.containerd_address;
    containerd.ns = config.worker.containerd_namespace;
    containerd.cgroups = &node->cgroups_;
    options.engine = std::make_shared<ContainerdEngine>(std::move(containerd));
    options.kind = v1::RUNTIME_KIND_CONTAINERD;
    RETURN_IF_ERROR(MakeContainerRuntime(config.worker.containerd, false, std::move(options),
                                         &node->containerd_runtime_));
  }
  if (std::vector<ContainerRuntime*> containers = node->ContainerRuntimes();
      !containers.empty() && config.worker.cpu_priority) {
    node->cpu_priority_ =
        std::make_unique<CpuPriorityLoop>(CpuPriorityOptions{}, &node->cgroups_, [containers] {
          std::vector<RunningFunction> running;
          for (ContainerRuntime* runtime : containers) {
            for (RunningFunction& f : runtime->RunningFunctions()) running.push_back(std::move(f));
          }
          return running;
        });
  }
  Runtime* const fallback = config.worker.runtime == "runc"
                                ? static_cast<Runtime*>(node->runc_runtime_.get())
                                : &node->process_runtime_;
  absl::flat_hash_map<v1::RuntimeKind, Runtime*> runtimes = {
      {v1::RUNTIME_KIND_UNSPECIFIED, fallback},
      {v1::RUNTIME_KIND_PROCESS, &node->process_runtime_}};
  for (ContainerRuntime* runtime : node->ContainerRuntimes()) runtimes[runtime->kind()] = runtime;
  if (config.worker.resctrl == "off") {
    node->cache_unavailable_ = "worker.resctrl is off";
  } else if (absl::StatusOr<std::unique_ptr<ResctrlAllocator>> cache =
                 ResctrlAllocator::Create(config.worker.resctrl_root);
             cache.ok()) {
    node->cache_ = std::move(*cache);
    FSCHED_LOG(kInfo, "cache partitions on: %d L3 ways, %d CLOSIDs at %s",
               node->cache_->total_ways(), node->cache_->info().num_closids,
               config.worker.resctrl_root);
  } else if (config.worker.resctrl == "on") {
    return absl::FailedPreconditionError(
        absl::StrCat("cache partitions are required (worker.resctrl: on) but unavailable: ",
                     cache.status().message()));
  } else {
    node->cache_unavailable_ = std::string(cache.status().message());
    FSCHED_LOG(kInfo, "cache partitions off: %s", node->cache_unavailable_);
  }
  const uint32_t slots = config.worker.slots > 0 ? config.worker.slots : HostMonitor::Cores();
  Executor::Options exec_options;
  exec_options.slots = slots;
  exec_options.output_limit_bytes = config.worker.output_limit_bytes;
  exec_options.default_timeout = config.scheduler.default_timeout;
  exec_options.cache = node->cache_.get();
  node->executor_ = std::make_unique<Executor>(exec_options, std::move(runtimes));
  MasterLink::Options link_options;
  link_options.zone = config.node.zone;
  link_options.labels = config.node.labels;
  link_options.reconnect_min = config.worker.reconnect_min;
  link_options.reconnect_max = config.worker.reconnect_max;
  if (std::vector<ContainerRuntime*> containers = node->ContainerRuntimes(); !containers.empty()) {
    link_options.on_prewarm = [containers](const v1::Prewarm& prewarm) {
      for (ContainerRuntime* runtime : containers) {
        if (prewarm.function().runtime() == runtime->kind()) {
          runtime->Prewarm(prewarm.function(), prewarm.count());
        }
      }
    };
    link_options.on_evict = [containers](const v1::Evict& evict) {
      for (ContainerRuntime* runtime : containers) runtime->Evict(evict.function());
    };
  }
  node->link_ = std::make_unique<MasterLink>(
      link_options, node->executor_.get(), [self] { return self->Capacity(); },
      [self] { return self->Load(); }, std::move(fatal));
  if (!config.worker.master.empty()) {
    RETURN_IF_ERROR(node->link_->SetMaster(config.worker.master, config.cluster.join_token));
  }
  node->service_ = std::make_unique<WorkerService>(
      node->link_.get(), [self](v1::WorkerStatus* out) { self->Status(out); });
  return node;
}

absl::Status WorkerNode::Start() {
  ASSIGN_OR_RETURN(server_, StartServer(config_.listen, {service_.get()}));
  port_ = server_.port;
  const std::string address = config_.advertise_address.empty() ? WithPort(config_.listen, port_)
                                                                : config_.advertise_address;
  worker_id_ = config_.node.id;
  if (worker_id_.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    worker_id_ = absl::StrCat(host, "-", port_);
  }
  link_->Start(worker_id_, address);
  FSCHED_LOG(kInfo, "worker %s serving on %s with %d slots; master %s", worker_id_, address,
             executor_->slots(),
             config_.worker.master.empty() ? "(none: waiting for Join)" : config_.worker.master);
  return absl::OkStatus();
}

void WorkerNode::Shutdown() {
  if (link_) link_->Stop();
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
  executor_.reset();
  cpu_priority_.reset();
  runc_runtime_.reset();  // after the executor: no call is running in a container now
  containerd_runtime_.reset();
  link_.reset();
}

v1::WorkerCapacity WorkerNode::Capacity() {
  v1::WorkerCapacity capacity;
  capacity.set_cores(HostMonitor::Cores());
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

v1::WorkerLoad WorkerNode::Load() {
  v1::WorkerLoad load;
  auto host = host_.Sample();
  if (host.ok()) {
    load.set_load1(host->load1);
    load.set_load5(host->load5);
    load.set_load15(host->load15);
    load.set_cpu_percent(host->cpu_percent);
    load.set_memory_percent(host->memory_percent);
    load.set_memory_available_bytes(host->memory_available_bytes);
  } else {
    FSCHED_LOG(kWarning, "cannot sample host load: %s", host.status().message());
  }
  load.set_running(static_cast<uint32_t>(executor_->Running().size()));
  if (cache_ != nullptr) load.set_cache_ways_free(cache_->free_ways());
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
