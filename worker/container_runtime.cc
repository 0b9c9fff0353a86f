#include "worker/container_runtime.h"

#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/function_call.h"
#include "common/host_paths.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "worker/child_process.h"
#include "worker/cpu_slice.h"
#include "worker/mounts.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

ExecResult StartFailed(std::string message) {
  ExecResult r;
  r.outcome = v1::OUTCOME_START_FAILED;
  r.started = absl::Now();
  r.message = std::move(message);
  return r;
}

}  // namespace

ContainerRuntime::ContainerRuntime(Options options)
    : options_(std::move(options)),
      cgroups_(options_.cgroup_root),
      pool_(options_.warm_memory_budget, options_.default_keep_alive,
            [this](std::unique_ptr<PooledInstance> instance) {
              Destroy(std::unique_ptr<Container>(static_cast<Container*>(instance.release())));
            }) {
  container_options_.engine = options_.engine.get();
  container_options_.bundles_dir = options_.state_dir + "/bundles";
  container_options_.shim_path = options_.shim_path;
  container_options_.uid = options_.uid;
  container_options_.gid = options_.gid;
  container_options_.cgroups = &cgroups_;
  container_options_.runtimes_dir = options_.runtimes_dir;
  container_options_.cpus = options_.cpus;
  container_options_.sched_batch = options_.sched_batch;
}

absl::StatusOr<std::unique_ptr<ContainerRuntime>> ContainerRuntime::Create(Options options) {
  const std::string engine(options.engine->name());
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", engine, " runtime needs root (containers get cgroups and namespaces)"));
  }
  if (!IsMountPoint("/")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "\"/\" is not a mount point (a chroot?): ", engine, " cannot build container roots here"));
  }
  if (!fs::path(options.state_dir).is_absolute()) {
    return absl::InvalidArgumentError(
        absl::StrCat("state directory '", options.state_dir, "' must be absolute"));
  }
  if (options.shim_path.empty() || access(options.shim_path.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("fsched-shim not found at '", options.shim_path,
                     "' (it is built next to fsched-worker; set worker.shim to its path)"));
  }
  RETURN_IF_ERROR(options.engine->Check());
  // Writing to a pipe whose container died must be an error, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", options.state_dir, ": ", ec.message()));
  }
  // Each worker process owns one directory, locked while it lives; an
  // unlocked one belongs to a worker that died, whose containers go now.
  for (const auto& entry : fs::directory_iterator(options.state_dir, ec)) {
    Fd lock(::open((entry.path() / "lock").c_str(), O_RDWR | O_CLOEXEC));
    if (!lock.valid() || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) continue;
    const std::string dir = entry.path().filename().string();
    if (dir.size() < 2 || dir[0] != 'w') continue;
    options.engine->RemoveLeftovers(absl::StrCat("fs", dir.substr(1), "-"));
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
  options.state_dir = absl::StrCat(options.state_dir, "/w", getpid());
  fs::create_directories(options.state_dir + "/bundles", ec);
  Fd lock(::open((options.state_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (ec || !lock.valid() || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot set up and lock ", options.state_dir));
  }
  std::unique_ptr<ContainerRuntime> runtime(new ContainerRuntime(std::move(options)));
  runtime->lock_ = std::move(lock);
  return runtime;
}

ContainerRuntime::~ContainerRuntime() {
  pool_.Shutdown();  // destroys every container
  // The parent is shared with other workers: removed only if empty.
  cgroups_.RemoveIfEmpty(fs::path(options_.engine->Cgroup("x")).parent_path().string());
  std::error_code ec;
  fs::remove_all(options_.state_dir, ec);
}

absl::StatusOr<std::string> ContainerRuntime::Root(const v1::FunctionSpec& function,
                                                   RootfsCache::Lease* lease) const {
  if (options_.engine->uses_images()) {
    if (function.image().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "function ", function.name(), " names no image (the containerd runtime runs images)"));
    }
    return function.image();
  }
  if (!function.rootfs_path().empty()) {
    // The master checked the path as written; only this worker's disk says
    // where it leads (a symlink under an allowed directory may point into /etc).
    std::error_code ec;
    const std::filesystem::path resolved = std::filesystem::canonical(function.rootfs_path(), ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("rootfs_path '", function.rootfs_path(),
                       "' cannot be resolved on this worker: ", ec.message()));
    }
    if (absl::Status allowed = CheckRootfsDirectory(resolved.string(), options_.rootfs_dirs);
        !allowed.ok()) {
      return absl::PermissionDeniedError(absl::StrCat("rootfs_path '", function.rootfs_path(),
                                                      "' leads to ", allowed.message(),
                                                      " on this worker (worker.rootfs_dirs)"));
    }
    return resolved.string();
  }
  if (!function.rootfs_digest().empty()) {
    if (options_.rootfs_cache == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "function ", function.name(), " names root filesystem archive ", function.rootfs_digest(),
          ", and this worker has no master to fetch it from"));
    }
    absl::StatusOr<RootfsCache::Lease> held = options_.rootfs_cache->Get(function.rootfs_digest());
    if (!held.ok()) return held.status();
    *lease = std::move(*held);
    return lease->path();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("function ", function.name(), " has neither rootfs_path nor rootfs_digest"));
}

absl::StatusOr<std::unique_ptr<Container>> ContainerRuntime::NewContainer(
    const v1::FunctionSpec& function) {
  RootfsCache::Lease lease;
  absl::StatusOr<std::string> root = Root(function, &lease);
  if (!root.ok()) return root.status();
  // The engine's initial keeps ids (and so cgroups) of runtimes apart.
  const std::string id =
      absl::StrCat("fs", getpid(), "-", std::string(name().substr(0, 1)), next_id_.fetch_add(1));
  absl::StatusOr<std::unique_ptr<Container>> c =
      Container::Create(container_options_, function, *root, id);
  if (c.ok()) {
    (*c)->HoldRoot(std::move(lease));
    live_.fetch_add(1);
  }
  return c;
}

void ContainerRuntime::CallStarts(const ExecRequest& request, const Container& container) const {
  if (!request.on_start && request.cpu_slice <= absl::ZeroDuration()) return;
  // Every process of the container, not only its shim: a persistent instance
  // already runs and would not inherit what the shim is given.
  std::vector<int> pids = cgroups_.Processes(container.cgroup());
  if (pids.empty()) pids.push_back(container.init_pid());
  for (const int pid : pids) {
    GiveCpuSlice(request.invocation_id, request.cpu_slice, pid);
    if (request.on_start) request.on_start(pid);
  }
}

ExecResult ContainerRuntime::Run(const ExecRequest& request, const RunControl& control) {
  const v1::FunctionSpec& function = request.function;
  if (IsPersistent(function)) return RunPersistent(request, control);
  std::unique_ptr<Container> container(static_cast<Container*>(pool_.Take(function).release()));
  for (int attempt = 0;; ++attempt) {
    const v1::ExecutionMode mode = InstancePool::ModeOf(container.get());
    if (attempt == 0 && mode != v1::EXECUTION_MODE_WARM && function.warm().prewarmed() > 0) {
      Prewarm(function, function.warm().prewarmed());  // keep the pre-created ones topped up
    }
    const absl::Time begin = absl::Now();
    if (container == nullptr) {
      absl::StatusOr<std::unique_ptr<Container>> created = NewContainer(function);
      if (!created.ok()) return StartFailed(std::string(created.status().message()));
      container = std::move(*created);
    }
    if (!container->started()) {
      if (absl::Status s = container->Start(); !s.ok()) {
        pool_.Destroy(std::move(container));
        return StartFailed(std::string(s.message()));
      }
    }
    const absl::Duration cold_start =
        mode == v1::EXECUTION_MODE_WARM ? absl::ZeroDuration() : absl::Now() - begin;
    {
      absl::MutexLock lock(&mu_);
      running_[request.invocation_id] = {container->cgroup(), request.predicted_seconds,
                                         absl::Now()};
    }
    pool_.CallStarted(function.name());
    CallStarts(request, *container);
    Container::CallResult call = container->Call(request, control);
    {
      absl::MutexLock lock(&mu_);
      running_.erase(request.invocation_id);
    }
    pool_.CallEnded(function.name());
    call.result.mode = mode;
    call.result.cold_start = cold_start;
    if (!call.crashed) {
      const v1::Outcome outcome = call.result.outcome;
      if (outcome == v1::OUTCOME_OOM_KILLED || outcome == v1::OUTCOME_TIMEOUT ||
          outcome == v1::OUTCOME_CANCELLED || outcome == v1::OUTCOME_START_FAILED) {
        // What a killed call leaves (files in the /tmp tmpfs count against the
        // memory limit, stray state) must not meet the next call; a container
        // whose function could not start is no instance worth keeping.
        pool_.Destroy(std::move(container));
      } else {
        Keep(function, std::move(container));
      }
      return std::move(call.result);
    }
    FSCHED_LOG(kWarning, "invocation %s: %s", request.invocation_id, call.result.message);
    pool_.Destroy(std::move(container));
    // The shim died with the call (the PID namespace took the function with
    // it): once, the call runs again in a fresh container.
    if (attempt > 0 || control.cancelled.load()) return std::move(call.result);
  }
}

ExecResult ContainerRuntime::RunPersistent(const ExecRequest& request, const RunControl& control) {
  const v1::FunctionSpec& function = request.function;
  InstancePool::Held held = pool_.Acquire(function);
  if (held.mode != v1::EXECUTION_MODE_WARM && function.warm().prewarmed() > 0) {
    Prewarm(function, function.warm().prewarmed());  // keep the pre-created ones topped up
  }
  absl::Duration cold_start, init;
  if (held.instance == nullptr) {
    const absl::Time begin = absl::Now();
    absl::StatusOr<std::unique_ptr<Container>> created = NewContainer(function);
    if (!created.ok()) return StartFailed(std::string(created.status().message()));
    ExecResult failure;
    if (!(*created)->StartInstance(InitTimeout(function), request.output_limit_bytes, control,
                                   &failure)) {
      pool_.Destroy(std::move(*created));
      failure.cold_start = absl::Now() - begin;
      return failure;
    }
    cold_start = absl::Now() - begin;
    init = (*created)->instance()->init_time();
    pool_.Adopt(function, &held, std::move(*created));
  }
  Container* container = static_cast<Container*>(held.instance);
  PersistentInstance& instance = *container->instance();
  const uint64_t memory = function.limits().memory_bytes();
  const uint64_t oom_before = memory > 0 ? cgroups_.OomKills(container->cgroup()).value_or(0) : 0;
  {
    absl::MutexLock lock(&mu_);
    running_[request.invocation_id] = {container->cgroup(), request.predicted_seconds, absl::Now()};
  }
  pool_.CallStarted(function.name());
  CallStarts(request, *container);
  ExecResult result =
      held.shared ? instance.CallShared(request, control) : instance.Call(request, control);
  {
    absl::MutexLock lock(&mu_);
    running_.erase(request.invocation_id);
  }
  pool_.CallEnded(function.name());
  result.mode = held.mode;
  result.cold_start = cold_start;
  result.init = init;
  if (result.outcome == v1::OUTCOME_NONZERO_EXIT && memory > 0 &&
      cgroups_.OomKills(container->cgroup()).value_or(0) > oom_before) {
    result.outcome = v1::OUTCOME_OOM_KILLED;
    result.message = absl::StrCat("killed by the kernel's OOM killer at the memory limit of ",
                                  memory >> 20, " MiB");
  }
  if (std::unique_ptr<PooledInstance> back =
          pool_.Release(&held, instance.Reusable(function, result))) {
    Keep(function, std::unique_ptr<Container>(static_cast<Container*>(back.release())));
  }
  return result;
}

void ContainerRuntime::Keep(const v1::FunctionSpec& function,
                            std::unique_ptr<Container> container) {
  pool_.Keep(function, std::move(container),
             function.limits().memory_bytes() > 0 ? function.limits().memory_bytes()
                                                  : options_.default_instance_memory);
}

void ContainerRuntime::Prewarm(const v1::FunctionSpec& function, uint32_t count) {
  pool_.Prewarm(function, count, [this, function] {
    absl::StatusOr<std::unique_ptr<Container>> c = NewContainer(function);
    absl::Status started = c.status();
    if (c.ok() && IsPersistent(function)) {
      // Pre-warmed means initialised: the instance is started and ready.
      ExecResult failure;
      if (!(*c)->StartInstance(InitTimeout(function), 1024 * 1024, RunControl(), &failure)) {
        started = absl::InternalError(failure.message);
      }
    } else if (c.ok() && options_.engine->prewarm_starts()) {
      started = (*c)->Start();
    }
    if (!started.ok()) {
      FSCHED_LOG(kWarning, "cannot pre-warm %s: %s", function.name(), started.message());
      if (c.ok()) pool_.Destroy(std::move(*c));
      return false;
    }
    Keep(function, std::move(*c));
    return true;
  });
}

void ContainerRuntime::Evict(const std::string& function) { pool_.Evict(function); }

std::vector<RunningFunction> ContainerRuntime::RunningFunctions() const {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  std::vector<RunningFunction> out;
  out.reserve(running_.size());
  for (const auto& [id, call] : running_) {
    out.push_back({call.cgroup, call.predicted_s, absl::ToDoubleSeconds(now - call.started)});
  }
  return out;
}

std::vector<v1::WarmInstance> ContainerRuntime::WarmSet() const { return pool_.WarmSet(); }

void ContainerRuntime::WaitIdle() { pool_.WaitIdle(); }

void ContainerRuntime::Destroy(std::unique_ptr<Container> container) {
  container->Destroy();
  container.reset();
  live_.fetch_sub(1);
}

}  // namespace fsched::worker
