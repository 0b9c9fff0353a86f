#include "worker/process_runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/function_call.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "worker/child_process.h"
#include "worker/cpu_slice.h"
#include "worker/fd.h"

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
  RootfsCache::Lease archive;  // released last, after the process is gone
  std::unique_ptr<PersistentInstance> process;
  std::unique_ptr<CallCgroup> cgroup;  // null without cgroups
  bool served() const override { return process->served(); }
};

ProcessRuntime::ProcessRuntime()
    : pool_(1ull << 30, absl::Minutes(10), [this](std::unique_ptr<PooledInstance> instance) {
        Destroy(std::unique_ptr<Instance>(static_cast<Instance*>(instance.release())));
      }) {}

void ProcessRuntime::set_warm(absl::Duration default_keep_alive, uint64_t memory_budget_bytes) {
  pool_.set_default_keep_alive(default_keep_alive);
  pool_.set_budget(memory_budget_bytes);
}

ProcessRuntime::~ProcessRuntime() {
  pool_.Shutdown();  // its last tasks release cgroups
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
  for (const auto& [key, call] : running_) {
    out.push_back({call.cgroup, call.predicted_s, absl::ToDoubleSeconds(now - call.started)});
  }
  return out;
}

absl::StatusOr<ChildSpec> ProcessRuntime::BaseSpec(const v1::FunctionSpec& function,
                                                   const std::map<std::string, std::string>& env,
                                                   const std::string& working_dir,
                                                   RootfsCache::Lease* archive) const {
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
    if (archives_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("function ", function.name(), " names archive ", digest,
                       ", and this worker has no master to fetch it from"));
    }
    absl::StatusOr<RootfsCache::Lease> lease = archives_->Get(digest);
    if (!lease.ok()) return lease.status();
    *archive = std::move(*lease);
    const std::string& dir = archive->path();
    spec.working_dir =
        spec.working_dir.empty() || spec.working_dir[0] != '/'
            ? absl::StrCat(dir, spec.working_dir.empty() ? "" : "/", spec.working_dir)
            : spec.working_dir;
  }
  spec.identity = identity_;
  return spec;
}

ExecResult ProcessRuntime::Run(const ExecRequest& request, const RunControl& control) {
  if (IsPersistent(request.function)) return RunPersistent(request, control);
  if (request.argv.empty() || request.argv[0].empty()) {
    return StartFailed("the function has no command");
  }
  RootfsCache::Lease archive;
  absl::StatusOr<ChildSpec> base =
      BaseSpec(request.function, request.env, request.working_dir, &archive);
  if (!base.ok()) return StartFailed(std::string(base.status().message()));
  ChildSpec spec = std::move(*base);
  spec.argv = request.argv;
  spec.env.push_back(absl::StrCat("FSCHED_INVOCATION_ID=", request.invocation_id));
  spec.stdin_data = request.stdin_data;
  spec.timeout = request.timeout;
  spec.output_limit_bytes = request.output_limit_bytes;
  spec.identity.cpu_slice_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(request.cpu_slice));
  // The default hooks act on the child's process group: SIGSTOP/SIGCONT to
  // freeze, SIGKILL to stop.
  ChildHooks hooks;
  hooks.started = request.on_start;
  Fd cache_tasks;
  if (!request.cache_tasks_file.empty()) {
    cache_tasks = Fd(::open(request.cache_tasks_file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (cache_tasks.valid()) {
      hooks.started = nullptr;  // it joins before exec
    } else {
      FSCHED_LOG(kWarning, "invocation %s joins its cache partition after it starts: %s: %s",
                 request.invocation_id, request.cache_tasks_file, std::strerror(errno));
    }
  }
  if (cgroups_ == nullptr) {
    if (cache_tasks.valid()) spec.identity.join_fds.push_back(cache_tasks.get());
    return RunChild(spec, control, hooks);
  }

  absl::StatusOr<std::unique_ptr<CallCgroup>> cgroup = AcquireCgroup(request.function.limits());
  if (!cgroup.ok()) return StartFailed(std::string(cgroup.status().message()));
  const std::string path = (*cgroup)->path;
  spec.identity.join_fds = (*cgroup)->procs_fds;
  if (cache_tasks.valid()) spec.identity.join_fds.push_back(cache_tasks.get());
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
  RootfsCache::Lease archive;
  absl::StatusOr<ChildSpec> base = BaseSpec(function, env, function.working_dir(), &archive);
  if (!base.ok()) {
    *failure = StartFailed(std::string(base.status().message()));
    return nullptr;
  }
  PersistentInstance::Spec spec;
  spec.env = std::move(base->env);
  spec.working_dir = std::move(base->working_dir);
  spec.identity = std::move(base->identity);
  absl::StatusOr<std::vector<std::string>> argv = InstanceCommand(function, runtimes_dir_);
  if (!argv.ok()) {
    *failure = StartFailed(std::string(argv.status().message()));
    return nullptr;
  }
  spec.argv = std::move(*argv);
  if (!function.handler().empty()) {
    spec.env.push_back(absl::StrCat("FSCHED_HANDLER=", function.handler()));
  }
  if (function.warm().concurrency() > 1) {
    spec.env.push_back(absl::StrCat("FSCHED_CONCURRENCY=", function.warm().concurrency()));
  }
  spec.init_timeout = InitTimeout(function);
  spec.log_limit_bytes = log_limit_bytes;
  auto instance = std::make_unique<Instance>();
  instance->archive = std::move(archive);
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
  InstancePool::Held held = pool_.Acquire(function);
  if (held.mode != v1::EXECUTION_MODE_WARM && function.warm().prewarmed() > 0) {
    Prewarm(function, function.warm().prewarmed());  // keep the pre-created ones topped up
  }
  absl::Duration cold_start, init;
  if (held.instance == nullptr) {
    ExecResult failure;
    std::unique_ptr<Instance> made =
        NewInstance(function, request.output_limit_bytes, control, &failure);
    if (made == nullptr) return failure;
    cold_start = failure.cold_start;
    init = made->process->init_time();
    pool_.Adopt(function, &held, std::move(made));
  }
  Instance& instance = *static_cast<Instance*>(held.instance);
  const std::string cgroup = instance.cgroup != nullptr ? instance.cgroup->path : "";
  const uint64_t memory = function.limits().memory_bytes();
  const uint64_t oom_before =
      memory > 0 && !cgroup.empty() ? cgroups_->OomKills(cgroup).value_or(0) : 0;
  {
    absl::MutexLock lock(&mu_);
    if (!cgroup.empty()) {
      running_[request.invocation_id] = {cgroup, request.predicted_seconds, absl::Now()};
    }
  }
  pool_.CallStarted(function.name());
  GiveCpuSlice(request.invocation_id, request.cpu_slice, instance.process->pid());
  if (request.on_start) request.on_start(instance.process->pid());
  ExecResult result = held.shared ? instance.process->CallShared(request, control)
                                  : instance.process->Call(request, control);
  {
    absl::MutexLock lock(&mu_);
    running_.erase(request.invocation_id);
  }
  pool_.CallEnded(function.name());
  result.mode = held.mode;
  result.cold_start = cold_start;
  result.init = init;
  if (result.outcome == v1::OUTCOME_NONZERO_EXIT && memory > 0 && !cgroup.empty() &&
      cgroups_->OomKills(cgroup).value_or(0) > oom_before) {
    MarkOomKilled(memory, &result);
  }
  if (std::unique_ptr<PooledInstance> back =
          pool_.Release(&held, instance.process->Reusable(function, result))) {
    Keep(function, std::unique_ptr<Instance>(static_cast<Instance*>(back.release())));
  }
  return result;
}

void ProcessRuntime::Keep(const v1::FunctionSpec& function, std::unique_ptr<Instance> instance) {
  // Charged at its limit, or at what it holds now when it has none.
  const uint64_t memory = function.limits().memory_bytes() > 0 ? function.limits().memory_bytes()
                                                               : instance->process->ResidentBytes();
  pool_.Keep(function, std::move(instance), memory);
}

void ProcessRuntime::Prewarm(const v1::FunctionSpec& function, uint32_t count) {
  if (!IsPersistent(function)) return;  // an exec function has nothing to keep
  pool_.Prewarm(function, count, [this, function] {
    ExecResult failure;
    std::unique_ptr<Instance> instance = NewInstance(function, 1024 * 1024, RunControl(), &failure);
    if (instance == nullptr) {
      FSCHED_LOG(kWarning, "cannot pre-warm %s: %s", function.name(), failure.message);
      return false;
    }
    Keep(function, std::move(instance));
    return true;
  });
}

void ProcessRuntime::Evict(const std::string& function) { pool_.Evict(function); }

std::vector<v1::WarmInstance> ProcessRuntime::WarmSet() const { return pool_.WarmSet(); }

void ProcessRuntime::WaitIdle() { pool_.WaitIdle(); }

void ProcessRuntime::Destroy(std::unique_ptr<Instance> instance) {
  instance->process->Kill();
  if (instance->cgroup != nullptr) ReleaseCgroup(std::move(instance->cgroup));
  instance.reset();
  live_.fetch_sub(1);
}

}  // namespace fsched::worker
