#include "worker/executor.h"

#include "absl/strings/str_cat.h"
#include "common/function_call.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/thread_name.h"

namespace fsched::worker {

Executor::Executor(Options options, absl::flat_hash_map<v1::RuntimeKind, Runtime*> runtimes)
    : options_(options), runtimes_(std::move(runtimes)) {
  // A frozen invocation keeps its thread while its preemptor runs on another.
  for (uint32_t i = 0; i < 2 * options_.slots; ++i) threads_.emplace_back([this] { SlotLoop(); });
}

Executor::~Executor() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    for (auto& [id, active] : active_) active.control->cancelled.store(true);
  }
  for (std::thread& t : threads_) t.join();
}

absl::Status Executor::Submit(v1::Assignment assignment, Done done) {
  absl::MutexLock lock(&mu_);
  if (active_.contains(assignment.invocation_id())) {
    return absl::AlreadyExistsError(
        absl::StrCat("invocation ", assignment.invocation_id(), " is already running here"));
  }
  Active* victim = nullptr;
  if (!assignment.preempts().empty()) {
    // The victim may have just finished; then its slot is free and this is a plain start.
    auto it = active_.find(assignment.preempts());
    if (it != active_.end() && it->second.can_freeze && !it->second.control->paused.load()) {
      victim = &it->second;
    }
  }
  uint32_t running = 0;  // frozen invocations hold no slot
  for (const auto& [id, active] : active_) running += active.control->paused.load() ? 0 : 1;
  if (running - (victim != nullptr ? 1 : 0) >= options_.slots + options_.max_waiting) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "all ", options_.slots, " slots of this worker are busy and ", options_.max_waiting,
        " calls wait (worker.waiting_per_slot sets how many may)"));
  }
  if (victim != nullptr) {
    victim->control->paused.store(true);
    resumes_[assignment.invocation_id()] = assignment.preempts();
  }
  auto control = std::make_shared<RunControl>();
  active_[assignment.invocation_id()] = {control, CanFreeze(assignment), false};
  if (victim != nullptr) {
    // It takes the frozen one's slot now, ahead of anything waiting.
    pending_.push_front({std::move(assignment), std::move(done), std::move(control)});
  } else {
    pending_.push_back({std::move(assignment), std::move(done), std::move(control)});
  }
  return absl::OkStatus();
}

bool Executor::CanStartNext() const {
  if (pending_.empty()) return false;
  if (resumes_.contains(pending_.front().assignment.invocation_id())) return true;
  uint32_t executing = 0;
  for (const auto& [id, active] : active_) {
    executing += active.started && !active.control->paused.load() ? 1 : 0;
  }
  return executing < options_.slots;
}

double Executor::Busy() const {
  absl::MutexLock lock(&mu_);
  uint32_t busy = 0;
  for (const auto& [id, active] : active_) busy += active.control->paused.load() ? 0 : 1;
  return options_.slots == 0 ? 1.0 : static_cast<double>(busy) / options_.slots;
}

bool Executor::Cancel(const std::string& invocation_id) {
  absl::MutexLock lock(&mu_);
  auto it = active_.find(invocation_id);
  if (it == active_.end()) return false;
  it->second.control->cancelled.store(true);
  return true;
}

std::vector<std::string> Executor::Running() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [id, active] : active_) out.push_back(id);
  return out;
}

bool Executor::CanFreeze(const v1::Assignment& assignment) const {
  auto runtime = runtimes_.find(assignment.function().runtime());
  return runtime != runtimes_.end() && runtime->second->can_freeze();
}

std::vector<v1::RuntimeKind> Executor::Kinds() const {
  std::vector<v1::RuntimeKind> out;
  for (const auto& [kind, runtime] : runtimes_) {
    if (kind != v1::RUNTIME_KIND_UNSPECIFIED) out.push_back(kind);
  }
  return out;
}

void Executor::SlotLoop() {
  NameThisThread("slot");
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Executor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stop_ || self->CanStartNext();
          },
          this));
      // Stopping drains what waits too (cancelled by the destructor, so each
      // is answered at once rather than dropped).
      if (pending_.empty()) return;
      job = std::move(pending_.front());
      pending_.pop_front();
      active_[job.assignment.invocation_id()].started = true;
    }
    v1::InvocationResult result = Execute(job);
    {
      // The slot is free before the master hears of it, so its next assignment fits.
      absl::MutexLock lock(&mu_);
      const std::string& id = job.assignment.invocation_id();
      active_.erase(id);
      if (auto resume = resumes_.find(id); resume != resumes_.end()) {
        if (auto frozen = active_.find(resume->second); frozen != active_.end()) {
          frozen->second.control->paused.store(false);
        }
        resumes_.erase(resume);
      }
    }
    if (ResultObserver* observer = observer_.load()) observer->OnResult(result);
    job.done(std::move(result));
  }
}

size_t Executor::Waiting() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

v1::InvocationResult Executor::Execute(Job& job) {
  v1::Assignment& a = job.assignment;
  v1::InvocationResult result;
  result.set_invocation_id(a.invocation_id());
  result.set_function(a.function().name());
  result.set_attempts(a.attempt());
  result.set_hops(a.hops());
  result.set_architecture(a.architecture());
  result.set_cache_ways(0);  // what the call really got, set below
  result.set_input_size(a.input_size());

  // A persistent function that names no runtime runs in the process runtime,
  // whatever this worker's default runtime is.
  const bool persistent = IsPersistent(a.function());
  auto runtime = runtimes_.find(persistent && a.function().runtime() == v1::RUNTIME_KIND_UNSPECIFIED
                                    ? v1::RUNTIME_KIND_PROCESS
                                    : a.function().runtime());
  if (runtime == runtimes_.end()) {
    result.set_outcome(v1::OUTCOME_START_FAILED);
    result.set_message(absl::StrCat("this worker has no ",
                                    v1::RuntimeKind_Name(a.function().runtime()), " runtime"));
    return result;
  }
  // The assignment is this call's alone: its strings move into the request.
  ExecRequest request;
  request.invocation_id = a.invocation_id();
  v1::FunctionSpec& spec = *a.mutable_function();
  request.argv.assign(spec.command().begin(), spec.command().end());
  request.argv.insert(request.argv.end(), a.args().begin(), a.args().end());
  request.env.insert(spec.env().begin(), spec.env().end());
  request.working_dir = spec.working_dir();
  request.stdin_data = std::move(*a.mutable_payload());
  const absl::Duration timeout = FromProto(a.timeout());
  request.timeout = timeout > absl::ZeroDuration() ? timeout : options_.default_timeout;
  const uint64_t limit = spec.limits().output_limit_bytes();
  request.output_limit_bytes = limit > 0 ? limit : options_.output_limit_bytes;
  request.predicted_seconds = a.predicted_seconds();
  request.function = std::move(spec);
  CacheGrant grant;
  if (options_.cache != nullptr && a.cache_ways() > 0) {
    grant = options_.cache->Allocate(a.invocation_id(), a.cache_ways());
    request.cache_tasks_file = options_.cache->TasksFile(a.invocation_id());
    request.on_start = [cache = options_.cache, id = a.invocation_id()](pid_t pid) {
      if (absl::Status s = cache->AddTask(id, pid); !s.ok()) {
        FSCHED_LOG(kWarning, "invocation %s runs without its cache partition: %s", id, s.message());
      }
    };
  }

  if (options_.cpu_slices != nullptr) {
    request.cpu_slice = options_.cpu_slices->SliceFor(result.function(), a.predicted_seconds());
  }

  ExecResult exec = runtime->second->Run(request, *job.control);
  if (options_.cache != nullptr) options_.cache->Release(a.invocation_id());
  if (options_.cpu_slices != nullptr && exec.outcome == v1::OUTCOME_OK) {
    // The CPU a run needed, not its wall time, which contention stretches.
    options_.cpu_slices->Observe(
        result.function(), exec.cpu_time > absl::ZeroDuration() ? exec.cpu_time : exec.execution);
  }
  result.set_cache_ways(grant.ways);
  result.set_outcome(exec.outcome);
  result.set_exit_code(exec.exit_code);
  result.set_term_signal(exec.term_signal);
  result.set_stdout(std::move(exec.stdout_data));
  result.set_stderr(std::move(exec.stderr_data));
  result.set_stdout_truncated(exec.stdout_truncated);
  result.set_stderr_truncated(exec.stderr_truncated);
  result.set_message(std::move(exec.message));
  result.set_mode(exec.mode);
  v1::Timings* t = result.mutable_timings();
  ToProto(exec.started, t->mutable_started());
  ToProto(exec.started + exec.execution + exec.paused, t->mutable_finished());
  if (exec.paused > absl::ZeroDuration()) ToProto(exec.paused, t->mutable_paused());
  ToProto(exec.cold_start, t->mutable_cold_start());
  if (exec.init > absl::ZeroDuration()) ToProto(exec.init, t->mutable_init());
  ToProto(exec.execution, t->mutable_execution());
  ToProto(exec.cpu_time, t->mutable_cpu_time());
  return result;
}

}  // namespace fsched::worker
