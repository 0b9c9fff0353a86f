// The master's core, built in one place: the durable function store, the
// function registry, the cluster manager, the invocation table, the run-time
// and LLC predictors (restored from the store), the scheduler and the
// controller. fsched-master (master.*) puts the network around it; the
// scheduler tests and the benchmarks use it as it is, on a manual clock.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/timer_queue.h"
#include "master/cluster_manager.h"
#include "master/controller.h"
#include "master/function_registry.h"
#include "master/function_store.h"
#include "master/invocation_journal.h"
#include "master/invocation_table.h"
#include "master/scheduler.h"
#include "scheduling/llc_predictor.h"
#include "scheduling/queue_order.h"
#include "scheduling/runtime_predictor.h"

namespace fsched::master {

/// Everything the core's parts are built with. Defaults are the parts' own.
struct MasterCoreOptions {
  std::string state_dir;  // the function store's SQLite database lives here
  FunctionLimits limits;
  ClusterManager::Options cluster;
  Retention retention;
  scheduling::RuntimePredictor::Options predictor;
  std::string queue_order = "aging-srtf";  // a policy_factory name
  scheduling::QueueOrderOptions order;
  std::string placement = "round-robin";  // a policy_factory name
  Scheduler::Options scheduler;
  Controller::Options controller;
  // Accepted invocations are recorded in the store and queued again after a
  // restart (scheduler.durable_invocations).
  bool durable_invocations = false;
  // After a restart, what was queued waits at most this long for the workers
  // that were running something to reconnect (cluster.restore_hold).
  absl::Duration restore_hold = absl::Seconds(2);
  // The daemon's side of the controller (pre-warm on register, rootfs check,
  // ...); null in the tests and benchmarks that run the core alone.
  ControllerCallbacks* controller_callbacks = nullptr;
};

/// The options the config's cluster and scheduler sections ask for: the one
/// place where those keys become the parts' options.
MasterCoreOptions MasterCoreOptionsFrom(const Config& config);

class MasterCore {
 public:
  /// Opens the store under options.state_dir, restores the predictors from it
  /// and builds the rest in dependency order. `clock` and `timers` must outlive
  /// the core. \return the store's error for an unusable directory,
  /// INVALID_ARGUMENT naming an unknown queue order or placement policy.
  static absl::StatusOr<std::unique_ptr<MasterCore>> Create(MasterCoreOptions options, Clock* clock,
                                                            TimerQueue* timers);
  /// Closes the journal first: acceptances it still answers reach the
  /// controller and the scheduler, destroyed before it.
  ~MasterCore();

  /// With durable invocations: what was accepted before the last stop and not
  /// finished, queued again. Counts for the log and fschedctl.
  struct Recovered {
    size_t requeued = 0;  // queued again, in their original order
    size_t running = 0;   // were running: left to their workers to confirm
    size_t rejected = 0;  // could not be queued again (the reason is their result)
    size_t results = 0;   // finished ones whose results are kept again
  };
  const Recovered& recovered() const { return recovered_; }

  FunctionStore* store() const { return store_.get(); }
  FunctionRegistry* registry() const { return registry_.get(); }
  ClusterManager* cluster() const { return cluster_.get(); }
  InvocationTable* table() const { return table_.get(); }
  scheduling::RuntimePredictor* predictor() const { return predictor_.get(); }
  scheduling::LlcPredictor* llc() const { return llc_.get(); }
  Scheduler* scheduler() const { return scheduler_.get(); }
  Controller* controller() const { return controller_.get(); }

 private:
  MasterCore() = default;
  absl::Status Recover(absl::Time now, absl::Duration restore_hold);
  // In dependency order, so each part is destroyed before what it uses.
  std::unique_ptr<FunctionStore> store_;
  std::unique_ptr<InvocationJournal> journal_;  // null unless durable
  std::unique_ptr<FunctionRegistry> registry_;
  std::unique_ptr<ClusterManager> cluster_;
  std::unique_ptr<InvocationTable> table_;
  std::unique_ptr<scheduling::RuntimePredictor> predictor_;
  std::unique_ptr<scheduling::LlcPredictor> llc_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Controller> controller_;
  Recovered recovered_;
};

}  // namespace fsched::master
