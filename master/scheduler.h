// The central queue with late binding: invocations wait here, ordered by a
// QueueOrder, and leave only when a PlacementPolicy finds a worker with a free
// slot, so a better job arriving later can still overtake.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "master/cluster_manager.h"
#include "master/function_registry.h"
#include "master/invocation_table.h"
#include "scheduling/llc_predictor.h"
#include "scheduling/placement_policy.h"
#include "scheduling/queue_order.h"
#include "scheduling/runtime_predictor.h"

namespace fsched::master {

class Scheduler {
 public:
  struct Options {
    absl::Duration queue_timeout = absl::Minutes(5);
    uint64_t max_queue = 100000;
    uint32_t max_attempts = 3;
    bool preemption = false;
    absl::Duration preempt_gap = absl::Seconds(4);
  };

  Scheduler(Options options, ClusterManager* cluster, InvocationTable* table,
            FunctionRegistry* registry, scheduling::RuntimePredictor* predictor, Clock* clock,
            std::unique_ptr<scheduling::QueueOrder> order,
            std::unique_ptr<scheduling::PlacementPolicy> placement);

  /// Queues a created invocation, ordered by its predicted run time.
  /// RESOURCE_EXHAUSTED when the queue is full.
  absl::Status Enqueue(const std::string& id, const InvocationTable::Admission& admission);
  /// After a master restart, while workers that ran something before it
  /// are still to reconnect: invocations queued again with Restore wait
  /// until they all have, or until `until`, so that a worker holding one
  /// (dispatched in the last moment before the stop, not yet journaled)
  /// keeps it instead of it running twice.
  void HoldRestored(absl::Time until);
  /// Queues an invocation accepted before a restart (held back while
  /// HoldRestored says so). RESOURCE_EXHAUSTED when the queue is full.
  absl::Status Restore(const std::string& id, const InvocationTable::Admission& admission);
  /// A registering worker holds these without the master having given them
  /// to it: those still queued here are taken off the queue and left
  /// RUNNING there (InvocationTable::Adopt, ClusterManager::Adopt). Returns
  /// their ids, for the worker's welcome to await.
  std::vector<std::string> Adopt(const std::string& worker_id,
                                 const std::vector<InFlight>& unclaimed);
  /// Places queued invocations while workers have free slots.
  void Pump();
  /// A worker reported a result.
  void OnResult(const std::string& worker_id, v1::InvocationResult result);
  /// Workers were lost: re-queue (or give up on) what they ran, then pump.
  void OnLost(const std::vector<InFlight>& lost);
  /// A worker (re)joined: invocations no worker could run get another chance.
  void OnWorkerJoined();
  /// Rejects invocations queued longer than the queue timeout.
  void ExpireQueued();
  /// Cancels a queued invocation, or asks its worker to stop a running one.
  absl::StatusOr<v1::Invocation> Cancel(const std::string& id);

  /// Swaps the queue order and/or placement policy (empty name = keep). Queued
  /// invocations move to the new order. INVALID_ARGUMENT for an unknown name.
  absl::Status SetPolicy(const std::string& queue_order, const std::string& placement);
  /// Parameters for orders created later (from config).
  void set_order_options(const scheduling::QueueOrderOptions& options);
  /// Predicts cache ways for functions without a fixed limits.cache_ways
  /// (not owned; set before the first Enqueue).
  void set_llc_predictor(scheduling::LlcPredictor* llc) { llc_ = llc; }
  std::pair<std::string, std::string> Policy() const;
  size_t queued() const;

 private:
  void PushLocked(scheduling::PendingInvocation pending, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /// With the queue still non-empty after placement: freezes the running
  /// invocations that the head of the queue beats by more than the preempt gap.
  void PreemptLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  scheduling::PendingInvocation MakePending(const std::string& id,
                                            const InvocationTable::Admission& admission)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues what HoldRestored held back, once every returning worker is
  // back or the hold is over.
  void ReleaseRestoredLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  ClusterManager* const cluster_;
  InvocationTable* const table_;
  FunctionRegistry* const registry_;
  scheduling::RuntimePredictor* const predictor_;
  Clock* const clock_;
  scheduling::LlcPredictor* llc_ = nullptr;

  mutable absl::Mutex mu_;
  std::unique_ptr<scheduling::QueueOrder> order_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<scheduling::PlacementPolicy> placement_ ABSL_GUARDED_BY(mu_);
  // Invocations no ready worker can run (e.g. an unsupported runtime), parked so
  // they do not block the queue; re-queued when a worker joins.
  std::vector<scheduling::PendingInvocation> parked_ ABSL_GUARDED_BY(mu_);
  // Queued before a restart, held back until restored_until_ (HoldRestored).
  std::vector<scheduling::PendingInvocation> restored_ ABSL_GUARDED_BY(mu_);
  absl::Time restored_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Queue deadlines in enqueue order (one timeout for all, so this is sorted);
  // entries whose sequence no longer matches the queued entry are stale and skipped.
  struct QueueDeadline {
    absl::Time at;
    uint64_t sequence;
    std::string id;
  };
  std::deque<QueueDeadline> deadlines_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  scheduling::QueueOrderOptions order_options_ ABSL_GUARDED_BY(mu_);
  absl::Time capacity_counted_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // order_'s slots
};

}  // namespace fsched::master
