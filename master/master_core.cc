#include "master/master_core.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "scheduling/policy_factory.h"

namespace fsched::master {

MasterCoreOptions MasterCoreOptionsFrom(const Config& config) {
  const ClusterConfig& c = config.cluster();
  const SchedulerConfig& s = config.scheduler();
  MasterCoreOptions o;
  o.state_dir = config.state_dir();
  o.limits.max_timeout = FromProto(s.max_timeout());
  o.cluster.join_token = c.join_token();
  o.cluster.heartbeat_interval = FromProto(c.heartbeat_interval());
  o.cluster.heartbeat_timeout = FromProto(c.heartbeat_timeout());
  o.cluster.reconnect_grace = FromProto(c.reconnect_grace());
  o.restore_hold = FromProto(c.restore_hold());
  o.retention.results = s.retained_results();
  o.retention.bytes = s.retained_result_bytes();
  o.retention.age = FromProto(s.retained_result_age());
  o.predictor.history = s.predictor_history();
  o.predictor.default_estimate = FromProto(s.default_estimate());
  o.queue_order = s.queue_order();
  o.order.aging_rate = s.aging_rate();
  o.order.max_wait = FromProto(s.max_wait());
  o.order.min_wait = FromProto(s.min_wait());
  o.order.fifo_wait_factor = s.fifo_wait_factor();
  o.order.slowdown_bound = s.slowdown_bound();
  o.placement = s.placement();
  o.scheduler.queue_timeout = FromProto(s.queue_timeout());
  o.scheduler.max_queue = s.max_queue();
  o.scheduler.preemption = s.preemption();
  o.scheduler.preempt_gap = FromProto(s.preempt_gap());
  o.scheduler.max_attempts = s.max_attempts();
  o.controller.max_payload_bytes = s.max_payload_bytes();
  o.controller.default_timeout = FromProto(s.default_timeout());
  o.controller.max_timeout = FromProto(s.max_timeout());
  o.durable_invocations = s.durable_invocations();
  return o;
}

absl::StatusOr<std::unique_ptr<MasterCore>> MasterCore::Create(MasterCoreOptions options,
                                                               Clock* clock, TimerQueue* timers) {
  std::unique_ptr<MasterCore> core(new MasterCore());
  ASSIGN_OR_RETURN(core->store_, FunctionStore::Open(options.state_dir));
  ASSIGN_OR_RETURN(core->registry_,
                   FunctionRegistry::Create(core->store_.get(), options.limits, clock));
  core->cluster_ = std::make_unique<ClusterManager>(options.cluster, clock);
  core->table_ = std::make_unique<InvocationTable>(options.retention);

  core->predictor_ = std::make_unique<scheduling::RuntimePredictor>(options.predictor);
  ASSIGN_OR_RETURN(std::vector<v1::RuntimeModel> models, core->store_->LoadModels());
  for (const v1::RuntimeModel& model : models) core->predictor_->Import(model);
  core->llc_ = std::make_unique<scheduling::LlcPredictor>();
  ASSIGN_OR_RETURN(std::vector<v1::LlcProfile> profiles, core->store_->LoadLlcProfiles());
  for (const v1::LlcProfile& profile : profiles) core->llc_->Import(profile);

  ASSIGN_OR_RETURN(std::unique_ptr<scheduling::QueueOrder> order,
                   scheduling::MakeQueueOrder(options.queue_order, options.order));
  ASSIGN_OR_RETURN(std::unique_ptr<scheduling::PlacementPolicy> placement,
                   scheduling::MakePlacementPolicy(options.placement));
  core->scheduler_ = std::make_unique<Scheduler>(
      options.scheduler, core->cluster_.get(), core->table_.get(), core->registry_.get(),
      core->predictor_.get(), clock, std::move(order), std::move(placement));
  core->scheduler_->set_order_options(options.order);
  core->scheduler_->set_llc_predictor(core->llc_.get());

  core->controller_ = std::make_unique<Controller>(
      std::move(options.controller), options.controller_callbacks, core->registry_.get(),
      core->table_.get(), core->scheduler_.get(), core->predictor_.get(), timers, clock);
  if (options.durable_invocations) {
    core->journal_ = std::make_unique<StoreJournal>(core->store_.get());
    core->table_->set_journal(core->journal_.get());
    core->controller_->set_journal(core->journal_.get());
    RETURN_IF_ERROR(core->Recover(clock->Now(), options.restore_hold));
  }
  return core;
}

MasterCore::~MasterCore() {
  if (journal_ != nullptr) journal_->Close();
}

absl::Status MasterCore::Recover(absl::Time now, absl::Duration restore_hold) {
  absl::StatusOr<std::vector<v1::AcceptedInvocation>> loaded = store_->LoadAccepted();
  if (!loaded.ok()) {
    return absl::Status(
        loaded.status().code(),
        absl::StrCat("cannot recover the invocations accepted before the last stop (",
                     loaded.status().message(),
                     "); to start without them, set scheduler.durable_invocations: false (they "
                     "stay recorded in fsched.db)"));
  }
  // Results first: they are older than anything that finishes from here on.
  absl::StatusOr<std::vector<v1::Invocation>> finished = store_->LoadFinished();
  if (!finished.ok()) {
    // Results are not worth refusing to start for: they are forgotten, said loudly.
    FSCHED_LOG(kError, "the results kept before the last stop are lost: %s",
               finished.status().message());
    finished = std::vector<v1::Invocation>();
  }
  for (v1::Invocation& invocation : *finished) table_->RestoreFinished(std::move(invocation));
  recovered_.results = finished->size();
  const std::vector<v1::AcceptedInvocation>& accepted = *loaded;
  for (const v1::AcceptedInvocation& a : accepted) {
    if (absl::Status restored = table_->Restore(a); !restored.ok()) return restored;
    if (!a.worker_id().empty()) {
      // It was running: its worker confirms it (or its result) when it
      // reconnects; otherwise it is lost like any other worker's, and queued again.
      cluster_->Recovered(a.worker_id(), {a.id(), a.attempts()}, FromProto(a.dispatched()));
      ++recovered_.running;
    }
  }
  // Workers that were running something may hold queued ones too (a dispatch
  // in the last moment, not yet journaled): they get the first word.
  if (cluster_->returning_workers() > 0 && restore_hold > absl::ZeroDuration()) {
    scheduler_->HoldRestored(now + restore_hold);
  }
  for (const v1::AcceptedInvocation& a : accepted) {
    if (!a.worker_id().empty()) continue;
    // Its original arrival: it keeps its place in the queue's order, and a
    // queue timeout that passed while the master was down ends it now.
    const absl::Status queued =
        scheduler_->Restore(a.id(), {a.spec(), a.request().input_size(), a.request().worker_id(),
                                     a.request().cache_ways(), FromProto(a.submitted())});
    if (queued.ok()) {
      ++recovered_.requeued;
    } else {
      table_->Reject(
          a.id(), v1::OUTCOME_REJECTED,
          absl::StrCat("accepted before a master restart, not queued again: ", queued.message()),
          now);
      ++recovered_.rejected;
    }
  }
  table_->ExpireResults(now);
  return absl::OkStatus();
}

}  // namespace fsched::master
