// The client-facing logic of a master: function registration and the
// invocation lifecycle (admission, submit, wait, cancel). The gRPC adapter in
// controller_service.cc only translates; every rule lives here.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/quantiles.h"
#include "common/timer_queue.h"
#include "fsched/v1/controller.pb.h"
#include "master/function_registry.h"
#include "master/invocation_journal.h"
#include "master/invocation_table.h"
#include "master/scheduler.h"

namespace fsched::master {

/// What the master daemon around the core tells the controller and hears
/// from it: where a function's warm policy becomes worker commands, and what
/// only the daemon knows (uploaded archives, ready workers).
class ControllerCallbacks {
 public:
  virtual ~ControllerCallbacks() = default;
  /// After a function is registered (or replaced).
  virtual void OnFunctionRegistered(const v1::Function& function) = 0;
  /// After a function is deleted.
  virtual void OnFunctionDeleted(const std::string& name) = 0;
  /// Whether a root filesystem archive was uploaded (checked at registration).
  virtual bool RootfsExists(const std::string& digest) = 0;
  /// Whether a worker is ready (checked for invocations pinned to one).
  virtual bool WorkerReady(const std::string& worker_id) = 0;
};

class Controller {
 public:
  struct Options {
    uint64_t max_payload_bytes = 6 * 1024 * 1024;
    size_t max_args = 256;
    size_t max_arg_bytes = 4096;
    absl::Duration default_timeout = absl::Seconds(60);
    absl::Duration max_timeout = absl::Minutes(15);
    absl::Duration max_wait = absl::Minutes(10);
  };

  /// `callbacks` may be null (a core without a daemon: every archive and
  /// worker is taken as there, nothing is told).
  Controller(Options options, ControllerCallbacks* callbacks, FunctionRegistry* registry,
             InvocationTable* table, Scheduler* scheduler, scheduling::RuntimePredictor* predictor,
             TimerQueue* timers, Clock* clock);
  /// Where accepted invocations are recorded before their id is answered
  /// (null = nowhere: they do not survive a restart). Set before the first call.
  void set_journal(InvocationJournal* journal) { journal_ = journal; }

  absl::StatusOr<v1::Function> RegisterFunction(const v1::RegisterFunctionRequest& request);
  absl::StatusOr<v1::Function> GetFunction(const std::string& name);
  std::vector<v1::Function> ListFunctions();
  absl::Status DeleteFunction(const std::string& name);

  /// Validates and queues an invocation, waiting for it to be recorded.
  /// `on_done` (optional) runs once with the finished invocation;
  /// `on_accepted` (optional) with its id once it is recorded and queued,
  /// before Submit returns (on_done may run first, on another thread, for a
  /// call that finishes that fast). INVALID_ARGUMENT / NOT_FOUND /
  /// RESOURCE_EXHAUSTED (UNAVAILABLE when the journal cannot record it) when
  /// it is not accepted; then nothing was queued. For tests and tools: the
  /// master's own entries use SubmitAsync, and this must never run on the
  /// journal's thread (it would wait for itself).
  absl::StatusOr<std::string> Submit(
      const v1::InvokeRequest& request, InvocationCallback on_done = nullptr,
      const std::function<void(const std::string&)>& on_accepted = nullptr);
  /// Submit for RPC handlers, which must not hold one of gRPC's few callback
  /// threads while the acceptance is journaled: `answer` runs once, with the
  /// id once the invocation is recorded and queued or with why it is not
  /// accepted, on this thread (refused at once, or no journal) or on the
  /// journal's.
  void SubmitAsync(const v1::InvokeRequest& request, InvocationCallback on_done,
                   std::function<void(absl::StatusOr<std::string>)> answer);
  /// What a caller waiting for invocation `id` is told when the master stops
  /// before it finished: it stays accepted (durable) or is lost.
  std::string StoppedBefore(const std::string& id) const;
  absl::StatusOr<v1::Invocation> GetInvocation(const std::string& id);
  /// Calls `done` when the invocation finishes or after `timeout`, whichever is
  /// first (exactly once). NOT_FOUND / INVALID_ARGUMENT are returned directly.
  absl::Status WaitInvocation(const std::string& id, absl::Duration timeout,
                              InvocationCallback done);
  absl::StatusOr<v1::Invocation> CancelInvocation(const std::string& id);

  /// Invocations accepted per second over the last minute.
  double AcceptedRate();

 private:
  absl::Status ValidateRequest(const v1::InvokeRequest& request) const;
  // What follows a recorded acceptance: queued and counted; the id, or why not.
  absl::StatusOr<std::string> Queue(const std::string& id,
                                    const InvocationTable::Admission& admission);
  void AddPrediction(v1::Function* function) const;

  const Options options_;
  ControllerCallbacks* const callbacks_;  // may be null
  FunctionRegistry* const registry_;
  InvocationTable* const table_;
  Scheduler* const scheduler_;
  scheduling::RuntimePredictor* const predictor_;
  TimerQueue* const timers_;
  Clock* const clock_;
  InvocationJournal* journal_ = nullptr;
  absl::Mutex rate_mu_;
  SlidingWindow accepted_ ABSL_GUARDED_BY(rate_mu_){absl::Minutes(1), 1000000};
};

}  // namespace fsched::master
