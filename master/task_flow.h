// Fsched's task flow (seed 003) over the controller: upload an artifact and
// get a task id; benchmark the task at an input size (its command run on one
// worker at 1..N cache ways, the curve stored in the LLC predictor); run it
// with the ways the predictor gives, answering BENCHMARKED (this size was
// benchmarked), ASSISTED (predicted from another size or another task's
// profile), or "not ready: benchmark it first".
//
// A task is a tar archive of its files. It runs as a function of its own,
// "task-<first 12 hex digits of the archive's digest>", in the process
// runtime, in the directory where the worker unpacked the archive; the
// command given to BenchmarkTask and RunTask is its argv.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/controller.pb.h"
#include "master/cluster_manager.h"
#include "master/controller.h"
#include "master/function_store.h"
#include "scheduling/llc_predictor.h"

namespace fsched::master {

class TaskFlow {
 public:
  TaskFlow(Controller* controller, FunctionStore* store, scheduling::LlcPredictor* llc,
           ClusterManager* cluster)
      : controller_(controller), store_(store), llc_(llc), cluster_(cluster) {}

  /// Loads the tasks the store holds.
  absl::Status Load();

  /// Records an uploaded archive as a task (the same archive is the same task).
  absl::StatusOr<v1::Task> Create(const std::string& name, const v1::Rootfs& archive);
  absl::StatusOr<v1::Task> Get(const std::string& task_id) const;

  using BenchmarkDone = std::function<void(absl::StatusOr<v1::BenchmarkTaskResponse>)>;
  /// Runs the benchmark; `done` runs once. Errors that need no run (unknown
  /// task, bad command, no worker with cache partitions) are returned at once.
  absl::Status Benchmark(const v1::BenchmarkTaskRequest& request, BenchmarkDone done);

  using RunDone = std::function<void(absl::StatusOr<v1::RunTaskResponse>)>;
  /// Runs the task; `done` runs once, with its result or why it did not run.
  /// Errors found before it is submitted (unknown task, not yet benchmarked)
  /// are returned at once instead.
  absl::Status Run(const v1::RunTaskRequest& request, RunDone done);

  /// The function a task runs as.
  static std::string FunctionOf(const v1::Task& task);

 private:
  struct Benchmarking;
  absl::Status ValidateCommand(const google::protobuf::RepeatedPtrField<std::string>& command,
                               double input_size) const;
  absl::Status EnsureFunction(const v1::Task& task);
  void RunNextWays(std::shared_ptr<Benchmarking> b);
  void FinishBenchmark(std::shared_ptr<Benchmarking> b);

  Controller* const controller_;
  FunctionStore* const store_;
  scheduling::LlcPredictor* const llc_;
  ClusterManager* const cluster_;
  mutable absl::Mutex mu_;
  std::map<std::string, v1::Task> tasks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched::master
