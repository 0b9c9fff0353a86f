#include "master/scheduler.h"

#include <algorithm>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "scheduling/dispatch.h"
#include "scheduling/policy_factory.h"

namespace fsched::master {

Scheduler::Scheduler(Options options, ClusterManager* cluster, InvocationTable* table,
                     FunctionRegistry* registry, scheduling::RuntimePredictor* predictor,
                     Clock* clock, std::unique_ptr<scheduling::QueueOrder> order,
                     std::unique_ptr<scheduling::PlacementPolicy> placement)
    : options_(options),
      cluster_(cluster),
      table_(table),
      registry_(registry),
      predictor_(predictor),
      clock_(clock),
      order_(std::move(order)),
      placement_(std::move(placement)) {}

scheduling::PendingInvocation Scheduler::MakePending(const std::string& id,
                                                     const InvocationTable::Admission& admission) {
  const v1::FunctionSpec& spec = admission.spec;
  const double input_size = admission.input_size;
  scheduling::PendingInvocation pending;
  pending.worker_id = admission.worker_id;
  pending.id = id;
  pending.function = spec.name();
  pending.runtime = spec.runtime();
  pending.input_size = input_size;
  pending.enqueued = admission.arrived;
  const scheduling::RuntimePredictor::Estimate estimate =
      predictor_->Predict(spec.name(), input_size);
  pending.predicted_seconds = estimate.tsu;
  pending.typical_seconds = estimate.median;
  pending.cache_ways = admission.cache_ways > 0 ? admission.cache_ways : spec.limits().cache_ways();
  // Only functions the predictor knows cost a look at the cluster's cache.
  if (pending.cache_ways == 0 && llc_ != nullptr && llc_->CanPredict(spec.name())) {
    // The ways the LLC predictor gives it, with the cache free in the cluster
    // now as the measure of generosity; none while it is not ready.
    const ClusterManager::CacheTotals cache = cluster_->GetCacheTotals();
    if (cache.max_ways > 0) {
      absl::StatusOr<scheduling::LlcPredictor::Prediction> p = llc_->Predict(
          spec.name(), input_size, cache.free_ways, std::min<uint32_t>(10, cache.max_ways));
      if (p.ok()) pending.cache_ways = p->ways;
    }
  }
  return pending;
}

void Scheduler::PushLocked(scheduling::PendingInvocation pending, absl::Time now) {
  // Its arrival (enqueued) stays what it was; this stay in the queue has a deadline of its own.
  pending.sequence = next_sequence_++;
  pending.queue_deadline = now + options_.queue_timeout;
  deadlines_.push_back({pending.queue_deadline, pending.sequence, pending.id});
  order_->Push(std::move(pending));
}

absl::Status Scheduler::Enqueue(const std::string& id,
                                const InvocationTable::Admission& admission) {
  absl::MutexLock lock(&mu_);
  if (order_->size() >= options_.max_queue) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the queue holds ", order_->size(), " invocations (scheduler.max_queue); retry later"));
  }
  PushLocked(MakePending(id, admission), clock_->Now());
  PumpLocked();
  return absl::OkStatus();
}

void Scheduler::HoldRestored(absl::Time until) {
  absl::MutexLock lock(&mu_);
  restored_until_ = until;
}

absl::Status Scheduler::Restore(const std::string& id,
                                const InvocationTable::Admission& admission) {
  {
    absl::MutexLock lock(&mu_);
    if (clock_->Now() < restored_until_) {
      if (order_->size() + restored_.size() >= options_.max_queue) {
        return absl::ResourceExhaustedError(absl::StrCat("the queue holds ",
                                                         order_->size() + restored_.size(),
                                                         " invocations (scheduler.max_queue)"));
      }
      restored_.push_back(MakePending(id, admission));
      return absl::OkStatus();
    }
  }
  return Enqueue(id, admission);
}

void Scheduler::ReleaseRestoredLocked(absl::Time now) {
  if (restored_until_ == absl::InfinitePast()) return;
  if (now < restored_until_ && cluster_->returning_workers() > 0) return;
  if (!restored_.empty()) {
    FSCHED_LOG(kInfo, "%d invocations queued before the restart are queued again (%s)",
               restored_.size(),
               now < restored_until_ ? "every worker that ran something is back"
                                     : "cluster.restore_hold is over");
  }
  for (scheduling::PendingInvocation& pending : restored_) PushLocked(std::move(pending), now);
  restored_.clear();
  restored_until_ = absl::InfinitePast();
  capacity_counted_ = absl::InfinitePast();
}

std::vector<std::string> Scheduler::Adopt(const std::string& worker_id,
                                          const std::vector<InFlight>& unclaimed) {
  std::vector<std::string> adopted;
  if (unclaimed.empty()) return adopted;
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  // A worker may list thousands (its recent results), the restored queue hold
  // as many: looked up by id, not searched.
  absl::flat_hash_set<std::string_view> restored_ids;
  for (const scheduling::PendingInvocation& p : restored_) restored_ids.insert(p.id);
  absl::flat_hash_set<std::string> taken_from_restored;
  for (const InFlight& flight : unclaimed) {
    const std::string& id = flight.invocation_id;
    const bool restored = restored_ids.contains(id);
    // Only one that waits here: one running elsewhere (or done) already ran
    // twice, and the worker's late result is dropped as stale.
    if (!restored && order_->Find(id) == nullptr) continue;
    if (!table_->Adopt(id, worker_id, flight.attempt, now)) continue;
    if (restored) {
      taken_from_restored.insert(id);
    } else {
      order_->Remove(id);
    }
    cluster_->Adopt(worker_id, flight);
    adopted.push_back(id);
  }
  if (!taken_from_restored.empty()) {
    std::erase_if(restored_, [&](const scheduling::PendingInvocation& p) {
      return taken_from_restored.contains(p.id);
    });
  }
  if (!adopted.empty()) {
    FSCHED_LOG(kInfo, "worker %s already runs %d queued invocations: left to it", worker_id,
               adopted.size());
  }
  return adopted;
}

void Scheduler::Pump() {
  absl::MutexLock lock(&mu_);
  PumpLocked();
}

void Scheduler::PumpLocked() {
  const absl::Time now = clock_->Now();
  // Only workers with a free slot: in a saturated cluster that is the one that
  // just reported, so a dispatch does not cost a walk over every worker.
  std::vector<scheduling::WorkerView> workers = cluster_->WorkersWithRoom();
  // The starvation guard weighs the backlog against every slot, busy or not.
  // Counting them walks every worker, so it is done when workers join or are
  // lost, and otherwise (drains, removals) at most once a second.
  if (now - capacity_counted_ >= absl::Seconds(1)) {
    order_->SetCapacity(cluster_->GetTotals().slots);
    capacity_counted_ = now;
  }
  // Each failed send refreshes the snapshot; bounded so a flapping worker cannot spin us.
  int refreshes = 0;
  const auto any_capable = [&](v1::RuntimeKind runtime) {
    return cluster_->AnyReadySupports(runtime);
  };
  while (!workers.empty()) {
    scheduling::DispatchDecision decision =
        scheduling::NextDispatch(*order_, *placement_, workers, now, any_capable);
    if (decision.kind == scheduling::DispatchDecision::Kind::kIdle) break;
    scheduling::PendingInvocation& pending = decision.pending;
    if (decision.kind == scheduling::DispatchDecision::Kind::kPark) {
      FSCHED_LOG(kDebug, "parking %s: %s", pending.id, decision.reason);
      parked_.push_back(std::move(pending));
      continue;
    }
    scheduling::WorkerView& chosen = workers[decision.worker];
    std::optional<v1::Assignment> assignment =
        table_->StartAttempt(pending.id, chosen, std::string(order_->name()),
                             std::string(placement_->name()), pending.predicted_seconds, now);
    if (!assignment) continue;  // cancelled or rejected while queued
    // Never more than the worker has free: the cache is not over-committed.
    const uint32_t ways = std::min(pending.cache_ways, chosen.cache_ways_free);
    assignment->set_cache_ways(ways);
    const absl::Status sent = cluster_->Assign(chosen.id, std::move(*assignment));
    if (!sent.ok()) {
      table_->Unstart(pending.id);
      PushLocked(std::move(pending), now);
      if (++refreshes > 3) break;
      workers = cluster_->WorkersWithRoom();
      continue;
    }
    chosen.cache_ways_free -= ways;
    if (--chosen.free_slots == 0) workers.erase(workers.begin() + decision.worker);
  }
  if (options_.preemption && order_->size() > 0) PreemptLocked(now);
}

void Scheduler::PreemptLocked(absl::Time now) {
  // Bounded per pump: each step freezes one invocation on some worker.
  for (int step = 0; step < 8; ++step) {
    const scheduling::PendingInvocation* head = order_->Peek(now);
    if (head == nullptr) return;
    std::optional<PreemptionCandidate> victim = cluster_->LongestPreemptible(now);
    if (!victim ||
        victim->remaining - absl::Seconds(head->predicted_seconds) <= options_.preempt_gap ||
        !scheduling::SupportsRuntime(victim->worker, head->runtime)) {
      return;
    }
    scheduling::PendingInvocation pending = *order_->Pop();
    std::optional<v1::Assignment> assignment =
        table_->StartAttempt(pending.id, victim->worker, std::string(order_->name()),
                             std::string(placement_->name()), pending.predicted_seconds, now);
    if (!assignment) continue;  // cancelled or rejected while queued
    assignment->set_preempts(victim->invocation_id);
    const absl::Status sent = cluster_->Assign(victim->worker.id, std::move(*assignment));
    if (!sent.ok()) {
      table_->Unstart(pending.id);
      PushLocked(std::move(pending), now);
      return;
    }
    FSCHED_LOG(kInfo, "%s (predicted %.3gs) freezes %s on %s (%.3gs left)", pending.id,
               pending.predicted_seconds, victim->invocation_id, victim->worker.id,
               absl::ToDoubleSeconds(victim->remaining));
  }
}

void Scheduler::OnResult(const std::string& worker_id, v1::InvocationResult result) {
  const std::string id = result.invocation_id();
  const uint32_t attempt = result.attempts();
  if (!cluster_->Release(worker_id, id, attempt)) {
    FSCHED_LOG(kDebug, "ignoring stale result of %s attempt %d from %s", id, attempt, worker_id);
    Pump();  // an orphan may have freed a slot
    return;
  }
  if (result.outcome() == v1::OUTCOME_REJECTED) {
    // The worker refused it without running it: another worker may take it.
    FSCHED_LOG(kWarning, "worker %s refused %s: %s", worker_id, id, result.message());
    OnLost({InFlight{id, attempt}});
    return;
  }
  const std::string function = result.function();
  const absl::Duration execution = FromProto(result.timings().execution());
  const v1::Outcome outcome = result.outcome();
  const double input_size = result.input_size();
  const uint32_t cache_ways = result.cache_ways();
  if (table_->Complete(id, attempt, std::move(result), clock_->Now())) {
    registry_->RecordExecution(function, execution, outcome == v1::OUTCOME_OK);
    // Only runs that ended by themselves say how long the function takes; a
    // timeout or cancel is a censored sample and a start failure no sample at all.
    if (outcome == v1::OUTCOME_OK || outcome == v1::OUTCOME_NONZERO_EXIT) {
      predictor_->Observe(function, input_size, absl::ToDoubleSeconds(execution));
      if (llc_ != nullptr && cache_ways > 0) {
        llc_->Observe(function, cache_ways, absl::ToDoubleSeconds(execution));
      }
    }
  }
  Pump();
}

void Scheduler::OnLost(const std::vector<InFlight>& lost) {
  if (lost.empty()) return;
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  for (const InFlight& flight : lost) {
    const auto action =
        table_->OnWorkerLost(flight.invocation_id, flight.attempt, options_.max_attempts, now);
    if (action != InvocationTable::LossAction::kRequeue) continue;
    auto admission = table_->AdmissionOf(flight.invocation_id);
    if (!admission.ok()) continue;
    PushLocked(MakePending(flight.invocation_id, *admission), now);
  }
  capacity_counted_ = absl::InfinitePast();
  PumpLocked();
}

void Scheduler::OnWorkerJoined() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  std::vector<scheduling::PendingInvocation> parked = std::move(parked_);
  parked_.clear();
  for (scheduling::PendingInvocation& p : parked) PushLocked(std::move(p), now);
  ReleaseRestoredLocked(now);
  capacity_counted_ = absl::InfinitePast();
  PumpLocked();
}

void Scheduler::ExpireQueued() {
  std::vector<std::string> expired;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    if (restored_until_ != absl::InfinitePast()) {
      ReleaseRestoredLocked(now);  // if the hold is over, or no worker is still to return
      if (restored_until_ == absl::InfinitePast()) PumpLocked();
    }
    while (!deadlines_.empty() && deadlines_.front().at <= now) {
      const QueueDeadline& d = deadlines_.front();
      // A re-queued invocation has a later deadline of its own: match the sequence.
      const scheduling::PendingInvocation* queued = order_->Find(d.id);
      if (queued != nullptr && queued->sequence == d.sequence) {
        order_->Remove(d.id);
        expired.push_back(d.id);
      }
      deadlines_.pop_front();
    }
    auto parked_end = std::partition(
        parked_.begin(), parked_.end(),
        [&](const scheduling::PendingInvocation& p) { return p.queue_deadline > now; });
    for (auto it = parked_end; it != parked_.end(); ++it) expired.push_back(it->id);
    parked_.erase(parked_end, parked_.end());
  }
  const std::string message = absl::StrCat(
      "no worker could take it within scheduler.queue_timeout (",
      absl::FormatDuration(options_.queue_timeout), "); check ListWorkers for capacity");
  for (const std::string& id : expired) {
    table_->Reject(id, v1::OUTCOME_REJECTED, message, clock_->Now());
  }
}

absl::StatusOr<v1::Invocation> Scheduler::Cancel(const std::string& id) {
  bool was_queued = false;
  {
    absl::MutexLock lock(&mu_);
    if (order_->Remove(id)) {
      was_queued = true;
    } else {
      for (auto* list : {&parked_, &restored_}) {
        auto it = std::find_if(list->begin(), list->end(),
                               [&](const scheduling::PendingInvocation& p) { return p.id == id; });
        if (it != list->end()) {
          list->erase(it);
          was_queued = true;
          break;
        }
      }
    }
  }
  if (was_queued) {
    table_->Reject(id, v1::OUTCOME_CANCELLED, "cancelled before it ran", clock_->Now());
  } else if (std::string worker = table_->RunningOn(id); !worker.empty()) {
    cluster_->SendCancel(worker, id);
  }
  return table_->Get(id);
}

absl::Status Scheduler::SetPolicy(const std::string& queue_order, const std::string& placement) {
  std::unique_ptr<scheduling::QueueOrder> new_order;
  std::unique_ptr<scheduling::PlacementPolicy> new_placement;
  scheduling::QueueOrderOptions order_options;
  {
    absl::MutexLock lock(&mu_);
    order_options = order_options_;
  }
  if (!queue_order.empty()) {
    auto made = scheduling::MakeQueueOrder(queue_order, order_options);
    if (!made.ok()) return made.status();
    new_order = std::move(*made);
  }
  if (!placement.empty()) {
    auto made = scheduling::MakePlacementPolicy(placement);
    if (!made.ok()) return made.status();
    new_placement = std::move(*made);
  }
  absl::MutexLock lock(&mu_);
  if (new_order) {
    const absl::Time now = clock_->Now();
    new_order->SetCapacity(cluster_->GetTotals().slots);
    while (order_->Peek(now) != nullptr) new_order->Push(*order_->Pop());
    order_ = std::move(new_order);
  }
  if (new_placement) placement_ = std::move(new_placement);
  FSCHED_LOG(kInfo, "scheduling policy: queue order %s, placement %s", order_->name(),
             placement_->name());
  PumpLocked();
  return absl::OkStatus();
}

void Scheduler::set_order_options(const scheduling::QueueOrderOptions& options) {
  absl::MutexLock lock(&mu_);
  order_options_ = options;
}

std::pair<std::string, std::string> Scheduler::Policy() const {
  absl::MutexLock lock(&mu_);
  return {std::string(order_->name()), std::string(placement_->name())};
}

size_t Scheduler::queued() const {
  absl::MutexLock lock(&mu_);
  return order_->size() + parked_.size() + restored_.size();
}

}  // namespace fsched::master
