#include "worker/process_runtime.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "worker/child_process.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

ExecResult StartFailed(std::string message) {
  ExecResult result;
  result.mode = v1::EXECUTION_MODE_COLD;
  result.outcome = v1::OUTCOME_START_FAILED;
  result.message = std::move(message);
  return result;
}

void MarkOomKilled(uint64_t memory_limit, ExecResult* result) {
  result->outcome = v1::OUTCOME_OOM_KILLED;
  result->message = absl::StrCat("killed by the kernel's OOM killer at the memory limit of ",
                                 memory_limit >> 20, " MiB");
}

}  // namespace

void ProcessRuntime::set_cgroups(const Cgroups* cgroups, std::string parent,
                                 uint64_t max_processes) {
  cgroups_ = cgroups;
  cgroup_parent_ = std::move(parent);
  max_processes_ = max_processes;
  // Cgroups are named w<worker pid>-<n>, so workers sharing a host keep
  // apart. One whose worker is gone (it died mid-call) may still hold
  // processes: they are killed and it is removed.
  std::error_code ec;
  const fs::path parent_dir =
      cgroups_->unified()
          ? fs::path(cgroups_->root()) / fs::path(cgroup_parent_).relative_path()
          : fs::path(cgroups_->root()) / "pids" / fs::path(cgroup_parent_).relative_path();
  for (const auto& entry : fs::directory_iterator(parent_dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    const std::string name = entry.path().filename().string();
    absl::string_view rest = name;
    int pid = 0;
    if (!absl::ConsumePrefix(&rest, "w") ||
        !absl::SimpleAtoi(rest.substr(0, rest.find('-')), &pid)) {
      continue;
    }
    if (pid != ::getpid() && (::kill(pid, 0) == 0 || errno != ESRCH)) continue;  // alive
    CallCgroup leftover;
    leftover.path = absl::StrCat(cgroup_parent_, "/", name);
    Remove(leftover);
  }
}

// An idle or serving persistent instance with the cgroup it holds for its life.
class ProcessRuntime::Instance final : public PooledInstance {
 public:
  std::unique_ptr<PersistentInstance> process;
  std::unique_ptr<CallCgroup> cgroup;  // null without cgroups
  bool served() const override { return process->served(); }
};

ProcessRuntime::ProcessRuntime() {
  background_ = std::thread([this] { BackgroundLoop(); });
}

void ProcessRuntime::set_warm(absl::Duration default_keep_alive, uint64_t memory_budget_bytes) {
  default_keep_alive_ = default_keep_alive;
  absl::MutexLock lock(&mu_);
  pool_.set_budget(memory_budget_bytes);
}

ProcessRuntime::~ProcessRuntime() {
  WarmPool::Evicted idle;
  {
    absl::MutexLock lock(&mu_);
    idle = pool_.Clear();
  }
  DestroyLater(std::move(idle));
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  background_.join();  // runs every queued task first
  absl::MutexLock lock(&mu_);
  for (std::unique_ptr<CallCgroup>& cgroup : idle_cgroups_) Remove(*cgroup);
}

absl::StatusOr<std::unique_ptr<ProcessRuntime::CallCgroup>> ProcessRuntime::AcquireCgroup(
    const v1::ResourceLimits& limits) {
  std::unique_ptr<CallCgroup> cgroup;
  {
    absl::MutexLock lock(&mu_);
    if (!idle_cgroups_.empty()) {
      cgroup = std::move(idle_cgroups_.back());
      idle_cgroups_.pop_back();
    }
  }
  if (cgroup != nullptr) {
    // What earlier calls left charged to it (files in a tmpfs, say) can keep
    // the kernel from lowering its memory limit: then a new one serves.
    absl::StatusOr<std::unique_ptr<CallCgroup>> reused = SetLimits(std::move(cgroup), limits);
    if (reused.ok()) return reused;
  }
  return SetLimits(nullptr, limits);
}

absl::StatusOr<std::unique_ptr<ProcessRuntime::CallCgroup>> ProcessRuntime::SetLimits(
    std::unique_ptr<CallCgroup> cgroup, const v1::ResourceLimits& limits) {
  absl::Status status;
  if (cgroup == nullptr) {
    cgroup = std::make_unique<CallCgroup>();
    cgroup->path = absl::StrCat(cgroup_parent_, "/w", ::getpid(), "-", cgroups_made_++);
    status = cgroups_->Create(cgroup->path);
    if (status.ok() && max_processes_ > 0)
      status = cgroups_->SetPidsMax(cgroup->path, max_processes_);
    if (status.ok()) {
      absl::StatusOr<std::vector<int>> fds = cgroups_->OpenProcs(cgroup->path);
      if (fds.ok()) {
        cgroup->procs_fds = std::move(*fds);
      } else {
        status = fds.status();
      }
    }
  }
  if (status.ok() && limits.memory_bytes() != cgroup->memory_bytes) {
    status = cgroups_->SetMemoryMax(cgroup->path, limits.memory_bytes());
    cgroup->memory_bytes = limits.memory_bytes();
  }
  if (status.ok() && limits.cpu_cores() != cgroup->cpu_cores) {
    status = cgroups_->SetCpuMax(cgroup->path, limits.cpu_cores());
    cgroup->cpu_cores = limits.cpu_cores();
  }
  if (!status.ok()) {
    Remove(*cgroup);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot set up the call's cgroup ", cgroup->path, ": ", status.message()));
  }
  return cgroup;
}

void ProcessRuntime::ReleaseCgroup(std::unique_ptr<CallCgroup> cgroup) {
  if (!Empty(cgroup->path)) {
    // A process that survives SIGKILL this long is stuck in the kernel (D state):
    // the cgroup is not reused; its name is never given out again.
    FSCHED_LOG(kWarning, "cgroup %s still holds processes after its call; not reusing it",
               cgroup->path);
    for (const int fd : cgroup->procs_fds) ::close(fd);
    return;
  }
  absl::MutexLock lock(&mu_);
  idle_cgroups_.push_back(std::move(cgroup));
}

bool ProcessRuntime::Empty(const std::string& cgroup) const {
  // Processes that left the function's process group (setsid) are still
  // here; killed ones leave the cgroup as they exit, which takes a moment.
  for (int round = 0; round < 200; ++round) {
    const std::vector<int> pids = cgroups_->Processes(cgroup);
    if (pids.empty()) return true;
    for (const int pid : pids) ::kill(pid, SIGKILL);
    ::usleep(500);
  }
  return cgroups_->Processes(cgroup).empty();
}

void ProcessRuntime::Remove(CallCgroup& cgroup) const {
  for (const int fd : cgroup.procs_fds) ::close(fd);
  cgroup.procs_fds.clear();
  Empty(cgroup.path);
  cgroups_->RemoveIfEmpty(cgroup.path);
}

std::vector<RunningFunction> ProcessRuntime::RunningFunctions() const {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  std::vector<RunningFunction> out;
  out.reserve(running_.size());
  for (const auto& [cgroup, call] : running_) {
    out.push_back({cgroup, call.predicted_s, absl::ToDoubleSeconds(now - call.started)});
  }
  return out;
}

bool ProcessRuntime::Persistent(const v1::FunctionSpec& function) {
  return function.lifetime() == v1::LIFETIME_PERSISTENT || !function.language().empty();
}

absl::StatusOr<ChildSpec> ProcessRuntime::BaseSpec(const v1::FunctionSpec& function,
                                                   const std::map<std::string, std::string>& env,
                                                   const std::string& working_dir) const {
  ChildSpec spec;
  bool has_path = false;
  for (const auto& [key, value] : env) {
    spec.env.push_back(absl::StrCat(key, "=", value));
    has_path |= key == "PATH";
  }
  if (!has_path) spec.env.push_back(absl::StrCat("PATH=", kDefaultPath));
  spec.env.push_back(absl::StrCat("FSCHED_FUNCTION=", function.name()));
  spec.working_dir = working_dir;
  if (const std::string& digest = function.rootfs_digest(); !digest.empty()) {
    absl::StatusOr<std::string> dir =
        archives_ != nullptr ? archives_->Get(digest)
                             : absl::FailedPreconditionError(absl::StrCat(
                                   "function ", function.name(), " names archive ", digest,
                                   ", and this worker has no master to fetch it from"));
    if (!dir.ok()) return dir.status();
    spec.working_dir =
        spec.working_dir.empty() || spec.working_dir[0] != '/'
            ? absl::StrCat(*dir, spec.working_dir.empty() ? "" : "/", spec.working_dir)
            : spec.working_dir;
  }
  spec.identity = identity_;
  return spec;
}

ExecResult ProcessRuntime::Run(const ExecRequest& request, const RunControl& control) {
  if (Persistent(request.function)) return RunPersistent(request, control);
  if (request.argv.empty() || request.argv[0].empty()) {
    return StartFailed("the function has no command");
  }
  absl::StatusOr<ChildSpec> base = BaseSpec(request.function, request.env, request.working_dir);
  if (!base.ok()) return StartFailed(std::string(base.status().message()));
  ChildSpec spec = std::move(*base);
  spec.argv = request.argv;
  spec.env.push_back(absl::StrCat("FSCHED_INVOCATION_ID=", request.invocation_id));
  spec.stdin_data = request.stdin_data;
  spec.timeout = request.timeout;
  spec.output_limit_bytes = request.output_limit_bytes;
  spec.identity = identity_;
  // The default hooks act on the child's process group: SIGSTOP/SIGCONT to
  // freeze, SIGKILL to stop.
  ChildHooks hooks;
  hooks.started = request.on_start;
  if (cgroups_ == nullptr) return RunChild(spec, control, hooks);

  absl::StatusOr<std::unique_ptr<CallCgroup>> cgroup = AcquireCgroup(request.function.limits());
  if (!cgroup.ok()) return StartFailed(std::string(cgroup.status().message()));
  const std::string path = (*cgroup)->path;
  spec.identity.join_fds = (*cgroup)->procs_fds;
  // The OOM count is read only where a limit can make the kernel kill.
  const uint64_t memory = request.function.limits().memory_bytes();
  const uint64_t oom_before = memory > 0 ? cgroups_->OomKills(path).value_or(0) : 0;
  {
    absl::MutexLock lock(&mu_);
    running_[path] = {path, request.predicted_seconds, absl::Now()};
  }
  ExecResult result = RunChild(spec, control, hooks);
  {
    absl::MutexLock lock(&mu_);
    running_.erase(path);
  }
  // The OOM killer may pick any process of the call (a shell's child, say).
  if (result.outcome == v1::OUTCOME_NONZERO_EXIT && memory > 0 &&
      cgroups_->OomKills(path).value_or(0) > oom_before) {
    MarkOomKilled(memory, &result);
  }
  ReleaseCgroup(std::move(*cgroup));
  return result;
}

std::unique_ptr<ProcessRuntime::Instance> ProcessRuntime::NewInstance(
    const v1::FunctionSpec& function, uint64_t log_limit_bytes, const RunControl& control,
    ExecResult* failure) {
  std::map<std::string, std::string> env(function.env().begin(), function.env().end());
  absl::StatusOr<ChildSpec> base = BaseSpec(function, env, function.working_dir());
  if (!base.ok()) {
    *failure = StartFailed(std::string(base.status().message()));
    return nullptr;
  }
  PersistentInstance::Spec spec;
  spec.env = std::move(base->env);
  spec.working_dir = std::move(base->working_dir);
  spec.identity = std::move(base->identity);
  if (function.language() == "python") {
    spec.argv = {"python3", absl::StrCat(runtimes_dir_, "/python/fsched_runtime.py")};
  } else if (function.language() == "node") {
    spec.argv = {"node", absl::StrCat(runtimes_dir_, "/node/fsched_runtime.js")};
  } else if (!function.language().empty()) {
    *failure = StartFailed(absl::StrCat("this worker has no '", function.language(),
                                        "' runtime (it has python and node)"));
    return nullptr;
  } else {
    spec.argv.assign(function.command().begin(), function.command().end());
  }
  if (spec.argv.empty() || spec.argv[0].empty()) {
    *failure = StartFailed("the function has no command");
    return nullptr;
  }
  if (!function.handler().empty()) {
    spec.env.push_back(absl::StrCat("FSCHED_HANDLER=", function.handler()));
  }
  if (function.limits().has_init_timeout()) {
    spec.init_timeout = FromProto(function.limits().init_timeout());
  }
  spec.log_limit_bytes = log_limit_bytes;
  auto instance = std::make_unique<Instance>();
  if (cgroups_ != nullptr) {
    absl::StatusOr<std::unique_ptr<CallCgroup>> cgroup = AcquireCgroup(function.limits());
    if (!cgroup.ok()) {
      *failure = StartFailed(std::string(cgroup.status().message()));
      return nullptr;
    }
    instance->cgroup = std::move(*cgroup);
    spec.identity.join_fds = instance->cgroup->procs_fds;
  }
  instance->process = PersistentInstance::Start(spec, control, failure);
  if (instance->process == nullptr) {
    if (instance->cgroup != nullptr) {
      const uint64_t memory = function.limits().memory_bytes();
      if (failure->outcome == v1::OUTCOME_INIT_FAILED && memory > 0 &&
          cgroups_->OomKills(instance->cgroup->path).value_or(0) > 0) {
        MarkOomKilled(memory, failure);
      }
      ReleaseCgroup(std::move(instance->cgroup));
    }
    return nullptr;
  }
  live_.fetch_add(1);
  return instance;
}

ExecResult ProcessRuntime::RunPersistent(const ExecRequest& request, const RunControl& control) {
  const v1::FunctionSpec& function = request.function;
  const std::string key = InstanceKey(function);
  WarmPool::Evicted stale;
  std::unique_ptr<Instance> instance;
  {
    absl::MutexLock lock(&mu_);
    stale = pool_.EvictFunction(function.name(), key);  // instances of older versions
    instance.reset(static_cast<Instance*>(pool_.Take(key).release()));
  }
  DestroyLater(std::move(stale));
  const v1::ExecutionMode mode = instance == nullptr  ? v1::EXECUTION_MODE_COLD
                                 : instance->served() ? v1::EXECUTION_MODE_WARM
                                                      : v1::EXECUTION_MODE_PREWARMED;
  if (mode != v1::EXECUTION_MODE_WARM && function.warm().prewarmed() > 0) {
    Prewarm(function, function.warm().prewarmed());  // keep the pre-created ones topped up
  }
  absl::Duration cold_start, init;
  if (instance == nullptr) {
    ExecResult failure;
    instance = NewInstance(function, request.output_limit_bytes, control, &failure);
    if (instance == nullptr) return failure;
    cold_start = failure.cold_start;
    init = instance->process->init_time();
  }
  const std::string cgroup = instance->cgroup != nullptr ? instance->cgroup->path : "";
  const uint64_t memory = function.limits().memory_bytes();
  const uint64_t oom_before =
      memory > 0 && !cgroup.empty() ? cgroups_->OomKills(cgroup).value_or(0) : 0;
  {
    absl::MutexLock lock(&mu_);
    if (!cgroup.empty()) running_[cgroup] = {cgroup, request.predicted_seconds, absl::Now()};
    ++serving_[function.name()];
  }
  if (request.on_start) request.on_start(instance->process->pid());
  ExecResult result = instance->process->Call(request, control);
  {
    absl::MutexLock lock(&mu_);
    if (!cgroup.empty()) running_.erase(cgroup);
    if (--serving_[function.name()] == 0) serving_.erase(function.name());
  }
  result.mode = mode;
  result.cold_start = cold_start;
  result.init = init;
  if (result.outcome == v1::OUTCOME_NONZERO_EXIT && memory > 0 && !cgroup.empty() &&
      cgroups_->OomKills(cgroup).value_or(0) > oom_before) {
    MarkOomKilled(memory, &result);
  }
  const v1::WarmPolicy& warm = function.warm();
  const bool healthy = instance->process->alive() && (result.outcome == v1::OUTCOME_OK ||
                                                      result.outcome == v1::OUTCOME_FUNCTION_ERROR);
  const bool recycle = (warm.recycle_after_calls() > 0 &&
                        instance->process->calls() >= warm.recycle_after_calls()) ||
                       (warm.recycle_above_memory_bytes() > 0 &&
                        instance->process->ResidentBytes() > warm.recycle_above_memory_bytes());
  if (healthy && !recycle) {
    Keep(function, std::move(instance));
  } else {
    DestroyLater(std::move(instance));
  }
  return result;
}

void ProcessRuntime::Keep(const v1::FunctionSpec& function, std::unique_ptr<Instance> instance) {
  // keep_alive is how long a used instance idles; a pre-created one waits
  // for its first call however long that takes (evict and the budget still apply).
  const absl::Duration keep_alive = !instance->served() ? absl::InfiniteDuration()
                                    : function.warm().has_keep_alive()
                                        ? FromProto(function.warm().keep_alive())
                                        : default_keep_alive_;
  if (keep_alive <= absl::ZeroDuration()) {
    DestroyLater(std::move(instance));
    return;
  }
  WarmPool::Entry entry;
  entry.key = InstanceKey(function);
  entry.function = function.name();
  // Charged at its limit, or at what it holds now when it has none.
  entry.memory_bytes = function.limits().memory_bytes() > 0
                           ? function.limits().memory_bytes()
                           : std::max<uint64_t>(instance->process->ResidentBytes(), 1);
  entry.keep_alive = keep_alive;
  entry.max_instances = function.warm().max_instances();
  entry.instance = std::move(instance);
  WarmPool::Evicted evicted;
  {
    absl::MutexLock lock(&mu_);
    evicted = pool_.Put(std::move(entry), absl::Now());
  }
  DestroyLater(std::move(evicted));
}

void ProcessRuntime::Prewarm(const v1::FunctionSpec& function, uint32_t count) {
  if (!Persistent(function)) return;  // an exec function has nothing to keep
  Post([this, function, count] {
    const std::string key = InstanceKey(function);
    size_t have;
    WarmPool::Evicted stale;
    {
      absl::MutexLock lock(&mu_);
      stale = pool_.EvictFunction(function.name(), key);  // a new version replaces the old
      have = pool_.Count(key);
    }
    DestroyLater(std::move(stale));
    const RunControl control;
    for (size_t i = have; i < count; ++i) {
      ExecResult failure;
      std::unique_ptr<Instance> instance = NewInstance(function, 1024 * 1024, control, &failure);
      if (instance == nullptr) {
        FSCHED_LOG(kWarning, "cannot pre-warm %s: %s", function.name(), failure.message);
        return;
      }
      Keep(function, std::move(instance));
    }
  });
}

void ProcessRuntime::Evict(const std::string& function) {
  WarmPool::Evicted evicted;
  {
    absl::MutexLock lock(&mu_);
    evicted = pool_.EvictFunction(function);
  }
  DestroyLater(std::move(evicted));
}

std::vector<v1::WarmInstance> ProcessRuntime::WarmSet() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::WarmInstance> set = pool_.Snapshot();
  // An instance serving a call is warm too, and idle again when the call
  // ends: reported, so that warm-first placement between two heartbeats
  // does not take a worker whose only instance happened to be busy for one
  // without any.
  for (const auto& [function, count] : serving_) {
    auto warm = std::find_if(set.begin(), set.end(), [&](const v1::WarmInstance& w) {
      return w.function() == function && w.mode() == v1::EXECUTION_MODE_WARM;
    });
    if (warm == set.end()) {
      warm = set.insert(set.end(), v1::WarmInstance());
      warm->set_function(function);
      warm->set_mode(v1::EXECUTION_MODE_WARM);
    }
    warm->set_count(warm->count() + count);
  }
  return set;
}

void ProcessRuntime::DestroyLater(WarmPool::Evicted instances) {
  for (auto& instance : instances) {
    DestroyLater(std::unique_ptr<Instance>(static_cast<Instance*>(instance.release())));
  }
}

void ProcessRuntime::DestroyLater(std::unique_ptr<Instance> instance) {
  if (instance == nullptr) return;
  Post([this, i = std::shared_ptr<Instance>(std::move(instance))]() mutable {
    i->process->Kill();
    if (i->cgroup != nullptr) ReleaseCgroup(std::move(i->cgroup));
    i.reset();
    live_.fetch_sub(1);
  });
}

void ProcessRuntime::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
}

void ProcessRuntime::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](ProcessRuntime* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->tasks_.empty() && !self->busy_;
      },
      this));
}

void ProcessRuntime::BackgroundLoop() {
  while (true) {
    std::function<void()> task;
    WarmPool::Evicted expired;
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      const absl::Time wake = std::min(pool_.NextExpiry(), absl::Now() + absl::Seconds(1));
      mu_.AwaitWithDeadline(absl::Condition(
                                +[](ProcessRuntime* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                                  return self->stop_ || !self->tasks_.empty();
                                },
                                this),
                            wake);
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
        busy_ = true;
      } else if (stop_) {
        return;
      } else {
        expired = pool_.Expire(absl::Now());
      }
    }
    if (task) task();
    DestroyLater(std::move(expired));
  }
}

}  // namespace fsched::worker
