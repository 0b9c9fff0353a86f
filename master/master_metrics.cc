#include "master/master_metrics.h"

#include <array>
#include <cmath>

#include "common/metrics.h"
#include "common/node_metrics.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "master/cluster_manager.h"
#include "master/function_registry.h"
#include "master/invocation_table.h"
#include "master/scheduler.h"
#include "routing/routing_metrics.h"

namespace fsched::master {

// Worker ids become label values too: workers beyond this many are left out of
// the per-worker gauges (fsched_workers still counts them).
constexpr size_t kMaxWorkerLabels = 1000;

struct MasterMetrics::Families {
  prometheus::Family<prometheus::Counter>* invocations = nullptr;
  prometheus::Family<prometheus::Counter>* executions = nullptr;
  prometheus::Family<prometheus::Histogram>* total = nullptr;
  prometheus::Family<prometheus::Histogram>* queue_wait = nullptr;
  prometheus::Family<prometheus::Histogram>* cold_start = nullptr;
  prometheus::Family<prometheus::Histogram>* execution = nullptr;
  prometheus::Family<prometheus::Histogram>* prediction_error = nullptr;
};

namespace {

void CollectCluster(const MasterMetrics::Options& s, LabelCap* workers, GaugeWriter& out) {
  out.Add("fsched_queue_length", "Invocations waiting in this master's queue", {},
          static_cast<double>(s.scheduler->queued()));
  out.Add("fsched_running_invocations", "Invocations this master has assigned and not finished", {},
          static_cast<double>(s.table->running()));
  out.Add("fsched_functions", "Functions registered", {},
          static_cast<double>(s.registry->List().size()));
  const ClusterManager::Totals totals = s.cluster->GetTotals();
  out.Add("fsched_slots", "Slots of ready workers", {}, totals.slots);
  out.Add("fsched_slots_busy", "Slots of ready workers holding this master's invocations", {},
          totals.slots_used);
  out.Add("fsched_slots_busy_reported",
          "Calls ready workers report running or holding (this master's, other masters' and "
          "direct calls)",
          {}, totals.busy);

  std::array<double, 5> by_state{};
  for (const v1::WorkerInfo& w : s.cluster->List()) {
    if (w.state() >= 0 && static_cast<size_t>(w.state()) < by_state.size()) ++by_state[w.state()];
    const std::string id = workers->Value(w.id());
    if (id == kOverflowLabel) continue;
    const std::map<std::string, std::string> labels = {{"worker", id}, {"zone", w.zone()}};
    out.Add("fsched_cluster_worker_up", "1 while the worker is ready", labels,
            w.state() == v1::WORKER_STATE_READY ? 1 : 0);
    out.Add("fsched_cluster_worker_slots", "The worker's slots", labels, w.capacity().slots());
    out.Add("fsched_cluster_worker_slots_busy", "The worker's slots holding this master's calls",
            labels, w.slots_used());
    out.Add("fsched_cluster_worker_running", "Calls the worker last reported running", labels,
            w.load().running());
    out.Add("fsched_cluster_worker_cpu_utilization_ratio",
            "Host CPU busy share the worker last reported, 0..1", labels,
            w.load().cpu_percent() / 100);
    out.Add("fsched_cluster_worker_memory_utilization_ratio",
            "Host memory in use the worker last reported, 0..1", labels,
            w.load().memory_percent() / 100);
    out.Add("fsched_cluster_worker_load1", "The worker host's 1-minute load average", labels,
            w.load().load1());
    out.Add("fsched_cluster_worker_cache_ways", "LLC ways the worker can partition (0 = no CAT)",
            labels, w.capacity().cache_ways());
    out.Add("fsched_cluster_worker_cache_ways_reserved",
            "LLC ways this master reserved on the worker for running calls", labels,
            w.cache_ways_reserved());
    const std::array<double, 4> warm = CountByMode(w.load().warm());
    for (const v1::ExecutionMode mode : {v1::EXECUTION_MODE_PREWARMED, v1::EXECUTION_MODE_WARM}) {
      std::map<std::string, std::string> with_mode = labels;
      with_mode["mode"] = EnumLabel(v1::ExecutionMode_Name(mode), "EXECUTION_MODE_");
      out.Add("fsched_cluster_worker_warm_instances",
              "Idle instances the worker keeps (prewarmed: never ran; warm: ran before)", with_mode,
              warm[mode]);
    }
  }
  for (const v1::WorkerState state : {v1::WORKER_STATE_READY, v1::WORKER_STATE_DRAINING,
                                      v1::WORKER_STATE_DISCONNECTED, v1::WORKER_STATE_DEAD}) {
    out.Add("fsched_workers", "Workers known to this master, by state",
            {{"state", EnumLabel(v1::WorkerState_Name(state), "WORKER_STATE_")}}, by_state[state]);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<MasterMetrics>> MasterMetrics::Start(const MetricsConfig& config,
                                                                    Options options) {
  std::unique_ptr<MasterMetrics> m(new MasterMetrics());
  ASSIGN_OR_RETURN(m->node_,
                   NodeMetrics::Start(config, {options.node_id, options.role, options.zone}));
  m->routing_ = std::make_unique<routing::RoutingMetrics>(&m->node_->endpoint(), options.routing,
                                                          &m->node_->functions());
  m->workers_ = std::make_unique<LabelCap>(kMaxWorkerLabels);
  prometheus::Registry& registry = m->node_->endpoint().registry();
  auto families = std::make_unique<Families>();
  families->invocations = &prometheus::BuildCounter()
                               .Name("fsched_invocations_total")
                               .Help("Invocations finished at this master, by function and outcome")
                               .Register(registry);
  families->executions = &prometheus::BuildCounter()
                              .Name("fsched_executions_total")
                              .Help(
                                  "Invocations that ran, by function and how their instance "
                                  "started (cold, prewarmed, warm)")
                              .Register(registry);
  families->total = &prometheus::BuildHistogram()
                         .Name("fsched_invocation_duration_seconds")
                         .Help("Submission to result at this master")
                         .Register(registry);
  families->queue_wait = &prometheus::BuildHistogram()
                              .Name("fsched_queue_wait_seconds")
                              .Help("Submission to assignment sent")
                              .Register(registry);
  families->cold_start = &prometheus::BuildHistogram()
                              .Name("fsched_cold_start_seconds")
                              .Help("Instance creation on the worker, for cold starts")
                              .Register(registry);
  families->execution = &prometheus::BuildHistogram()
                             .Name("fsched_execution_seconds")
                             .Help("Wall time inside the function")
                             .Register(registry);
  families->prediction_error = &prometheus::BuildHistogram()
                                    .Name("fsched_runtime_prediction_error_seconds")
                                    .Help(
                                        "|predicted - measured| execution time of the "
                                        "run-time predictor, per function")
                                    .Register(registry);
  m->families_ = std::move(families);
  LabelCap* workers = m->workers_.get();
  m->node_->endpoint().AddGauges(
      [options, workers](GaugeWriter& out) { CollectCluster(options, workers, out); });
  return m;
}

MasterMetrics::~MasterMetrics() {
  node_.reset();  // no scrape may run while the rest goes away
}

int MasterMetrics::port() const { return node_->port(); }

void MasterMetrics::StopServing() { node_->StopServing(); }

routing::RoutingMetrics* MasterMetrics::routing() { return routing_.get(); }

void MasterMetrics::OnResult(const v1::InvocationResult& result) {
  const std::string function = node_->functions().Value(result.function());
  families_->invocations
      ->Add({{"function", function},
             {"outcome", EnumLabel(v1::Outcome_Name(result.outcome()), "OUTCOME_")}})
      .Increment();
  const v1::Timings& t = result.timings();
  const prometheus::Labels labels = {{"function", function}};
  families_->total->Add(labels, LatencyBuckets()).Observe(ToSeconds(t.total()));
  if (result.outcome() == v1::OUTCOME_REJECTED) return;  // it never ran
  families_->queue_wait->Add(labels, LatencyBuckets()).Observe(ToSeconds(t.queue_wait()));
  if (result.mode() == v1::EXECUTION_MODE_UNSPECIFIED) return;  // never started
  families_->executions
      ->Add({{"function", function},
             {"mode", EnumLabel(v1::ExecutionMode_Name(result.mode()), "EXECUTION_MODE_")}})
      .Increment();
  if (result.mode() == v1::EXECUTION_MODE_COLD) {
    families_->cold_start->Add(labels, LatencyBuckets()).Observe(ToSeconds(t.cold_start()));
  }
  const double execution = ToSeconds(t.execution());
  families_->execution->Add(labels, LatencyBuckets()).Observe(execution);
  if (result.outcome() == v1::OUTCOME_OK && result.predicted_seconds() > 0) {
    families_->prediction_error->Add(labels, LatencyBuckets())
        .Observe(std::abs(result.predicted_seconds() - execution));
  }
}

}  // namespace fsched::master
