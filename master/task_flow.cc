#include "master/task_flow.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace fsched::master {
namespace {

constexpr size_t kMaxNameBytes = 128;
constexpr uint32_t kMaxBenchmarkWays = 10;  // DESIGN.md: N = min(10, usable ways)

// Why a run did not give a usable time, for the benchmark's error.
std::string RunFailure(const v1::Invocation& inv) {
  if (inv.state() != v1::INVOCATION_STATE_DONE) return "the master is shutting down";
  const v1::InvocationResult& r = inv.result();
  std::string text = absl::StrCat(v1::Outcome_Name(r.outcome()), ": ", r.message());
  if (!r.stderr().empty()) {
    absl::StrAppend(&text, " (stderr: ", r.stderr().substr(0, 300), ")");
  }
  return text;
}

}  // namespace

// One benchmark in flight: its runs go one after another, each at one more way.
struct TaskFlow::Benchmarking {
  v1::BenchmarkTaskRequest request;
  v1::Task task;
  std::string worker_id;
  uint32_t max_ways = 0;
  uint32_t next_ways = 1;
  std::vector<std::pair<uint32_t, double>> points;
  BenchmarkDone done;
};

std::string TaskFlow::FunctionOf(const v1::Task& task) {
  return absl::StrCat("task-", DigestHex(task.digest()).substr(0, 12));
}

absl::Status TaskFlow::Load() {
  ASSIGN_OR_RETURN(std::vector<std::string> rows, store_->LoadTasks());
  absl::MutexLock lock(&mu_);
  for (const std::string& row : rows) {
    v1::Task task;
    if (!task.ParseFromString(row)) return absl::DataLossError("a stored task is corrupt");
    tasks_[task.task_id()] = std::move(task);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Task> TaskFlow::Create(const std::string& name, const v1::Rootfs& archive) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the task's name (first chunk) must be 1 to ", kMaxNameBytes, " bytes"));
  }
  v1::Task task;
  task.set_digest(archive.digest());
  task.set_task_id(FunctionOf(task));
  task.set_name(name);
  task.set_size_bytes(archive.size_bytes());
  for (double size : llc_->BenchmarkedSizes(FunctionOf(task))) task.add_benchmarked_sizes(size);
  RETURN_IF_ERROR(store_->PutTask(task.task_id(), task.SerializeAsString()));
  absl::MutexLock lock(&mu_);
  tasks_[task.task_id()] = task;
  return task;
}

absl::StatusOr<v1::Task> TaskFlow::Get(const std::string& task_id) const {
  if (task_id.empty()) return absl::InvalidArgumentError("task_id is empty");
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) {
    return absl::NotFoundError(
        absl::StrCat("task '", task_id.substr(0, 80), "' is unknown (UploadTask returns the id)"));
  }
  return it->second;
}

absl::Status TaskFlow::ValidateCommand(
    const google::protobuf::RepeatedPtrField<std::string>& command, double input_size) const {
  if (command.empty() || command[0].empty()) {
    return absl::InvalidArgumentError("command is empty: give the argv that runs the task");
  }
  if (!std::isfinite(input_size) || input_size < 0) {
    return absl::InvalidArgumentError("input_size must be a finite number >= 0");
  }
  return absl::OkStatus();
}

absl::Status TaskFlow::EnsureFunction(const v1::Task& task) {
  v1::RegisterFunctionRequest request;
  request.set_replace(true);
  v1::FunctionSpec* spec = request.mutable_spec();
  spec->set_name(FunctionOf(task));
  spec->set_description(absl::StrCat("task ", task.name()));
  spec->set_runtime(v1::RUNTIME_KIND_PROCESS);
  spec->set_rootfs_digest(task.digest());
  // `env --` runs the argv each call gives (as its args) from the task's directory.
  spec->add_command("env");
  spec->add_command("--");
  if (absl::StatusOr<v1::Function> existing = controller_->GetFunction(spec->name());
      existing.ok() && existing->spec().SerializeAsString() == spec->SerializeAsString()) {
    return absl::OkStatus();
  }
  return controller_->RegisterFunction(request).status();
}

absl::Status TaskFlow::Benchmark(const v1::BenchmarkTaskRequest& request, BenchmarkDone done) {
  ASSIGN_OR_RETURN(v1::Task task, Get(request.task_id()));
  RETURN_IF_ERROR(ValidateCommand(request.command(), request.input_size()));
  auto b = std::make_shared<Benchmarking>();
  // A worker with cache partitions: the one asked for, else the one with most ways.
  uint32_t worker_ways = 0;
  if (!request.worker_id().empty()) {
    ASSIGN_OR_RETURN(v1::WorkerInfo w, cluster_->Get(request.worker_id()));
    if (w.state() != v1::WORKER_STATE_READY || !w.capacity().cat_supported()) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", w.id(), " cannot benchmark: ",
                       w.state() != v1::WORKER_STATE_READY
                           ? "it is not ready"
                           : absl::StrCat("it has no cache partitions (",
                                          w.capacity().cat_unsupported_reason(), ")")));
    }
    b->worker_id = w.id();
    worker_ways = w.capacity().cache_ways();
  } else {
    for (const v1::WorkerInfo& w : cluster_->List()) {
      if (w.state() == v1::WORKER_STATE_READY && w.capacity().cat_supported() &&
          w.capacity().cache_ways() > worker_ways) {
        b->worker_id = w.id();
        worker_ways = w.capacity().cache_ways();
      }
    }
    if (b->worker_id.empty()) {
      return absl::FailedPreconditionError(
          "no ready worker has cache partitions (resctrl with L3 allocation): a benchmark "
          "measures the task at 1..N cache ways, so it needs one");
    }
  }
  b->max_ways = std::min(kMaxBenchmarkWays, worker_ways);
  if (request.max_ways() > 0) b->max_ways = std::min(request.max_ways(), worker_ways);
  if (b->max_ways < 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("worker ", b->worker_id, " offers ", worker_ways,
                     " cache ways; a curve needs at least 2 (max_ways)"));
  }
  RETURN_IF_ERROR(EnsureFunction(task));
  b->request = request;
  b->task = std::move(task);
  b->done = std::move(done);
  RunNextWays(std::move(b));
  return absl::OkStatus();
}

void TaskFlow::RunNextWays(std::shared_ptr<Benchmarking> b) {
  if (b->next_ways > b->max_ways) {
    FinishBenchmark(std::move(b));
    return;
  }
  v1::InvokeRequest run;
  run.set_function(FunctionOf(b->task));
  run.mutable_args()->CopyFrom(b->request.command());
  run.set_input_size(b->request.input_size());
  run.set_worker_id(b->worker_id);
  run.set_cache_ways(b->next_ways);
  // Not waited for: this may run on the journal's thread, which records it.
  controller_->SubmitAsync(
      run,
      [this, b](const v1::Invocation& inv) {
        const v1::InvocationResult& r = inv.result();
        if (inv.state() != v1::INVOCATION_STATE_DONE || r.outcome() != v1::OUTCOME_OK) {
          b->done(absl::FailedPreconditionError(absl::StrCat(
              "the benchmark run at ", b->next_ways, " cache ways failed: ", RunFailure(inv))));
          return;
        }
        if (r.cache_ways() != b->next_ways) {
          b->done(absl::FailedPreconditionError(
              absl::StrCat("the benchmark run asked for ", b->next_ways, " cache ways on ",
                           r.worker_id(), " and got ", r.cache_ways(),
                           " (others hold the rest): benchmark when the worker is idle")));
          return;
        }
        b->points.emplace_back(b->next_ways,
                               absl::ToDoubleSeconds(FromProto(r.timings().execution())));
        ++b->next_ways;
        RunNextWays(b);
      },
      [b](absl::StatusOr<std::string> id) {
        if (!id.ok()) b->done(id.status());
      });
}

void TaskFlow::FinishBenchmark(std::shared_ptr<Benchmarking> b) {
  const std::string function = FunctionOf(b->task);
  absl::StatusOr<v1::LlcProfile> profile =
      llc_->AddBenchmark(function, b->request.input_size(), b->points);
  if (!profile.ok()) {
    b->done(profile.status());
    return;
  }
  if (absl::Status s = store_->PutLlcProfile(*profile); !s.ok()) {
    FSCHED_LOG(kWarning, "cache profile of %s not persisted: %s", function, s.message());
  }
  {
    absl::MutexLock lock(&mu_);
    v1::Task& task = tasks_[b->task.task_id()];
    task.clear_benchmarked_sizes();
    for (double size : llc_->BenchmarkedSizes(function)) task.add_benchmarked_sizes(size);
    if (absl::Status s = store_->PutTask(task.task_id(), task.SerializeAsString()); !s.ok()) {
      FSCHED_LOG(kWarning, "task %s not persisted: %s", task.task_id(), s.message());
    }
  }
  v1::BenchmarkTaskResponse response;
  response.set_message(absl::StrFormat(
      "benchmarked at 1..%d cache ways on %s; the task is ready for execution at input size %g",
      b->max_ways, b->worker_id, b->request.input_size()));
  response.set_input_size(b->request.input_size());
  for (const auto& [ways, seconds] : b->points) {
    v1::BenchmarkPoint* p = response.add_points();
    p->set_ways(ways);
    ToProto(absl::Seconds(seconds), p->mutable_time());
  }
  response.set_fit_a(profile->fit_a());
  response.set_fit_b(profile->fit_b());
  b->done(std::move(response));
}

absl::Status TaskFlow::Run(const v1::RunTaskRequest& request, RunDone done) {
  ASSIGN_OR_RETURN(v1::Task task, Get(request.task_id()));
  RETURN_IF_ERROR(ValidateCommand(request.command(), request.input_size()));
  const ClusterManager::CacheTotals cache = cluster_->GetCacheTotals();
  absl::StatusOr<scheduling::LlcPredictor::Prediction> prediction =
      llc_->Predict(FunctionOf(task), request.input_size(), cache.free_ways,
                    std::min(kMaxBenchmarkWays, cache.max_ways));
  if (!prediction.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task ", task.task_id(),
        " is not yet ready for execution: benchmark it at an input size first (BenchmarkTask)"));
  }
  RETURN_IF_ERROR(EnsureFunction(task));
  v1::InvokeRequest run;
  run.set_function(FunctionOf(task));
  run.mutable_args()->CopyFrom(request.command());
  run.set_input_size(request.input_size());
  run.set_cache_ways(prediction->ways);
  const v1::TaskRunMode mode =
      prediction->benchmarked ? v1::TASK_RUN_MODE_BENCHMARKED : v1::TASK_RUN_MODE_ASSISTED;
  // A refusal (the queue is full, the journal cannot record it) reaches
  // `done` like any other end of the run.
  controller_->SubmitAsync(
      run,
      [mode, done](const v1::Invocation& inv) {
        if (inv.state() != v1::INVOCATION_STATE_DONE) {
          done(absl::UnavailableError("the master shut down before the task finished"));
          return;
        }
        v1::RunTaskResponse response;
        response.set_mode(mode);
        response.set_cache_ways(inv.result().cache_ways());
        *response.mutable_result() = inv.result();
        done(std::move(response));
      },
      [done](absl::StatusOr<std::string> id) {
        if (!id.ok()) done(id.status());
      });
  return absl::OkStatus();
}

}  // namespace fsched::master
