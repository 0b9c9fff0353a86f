#include "worker/worker_metrics.h"

#include <array>

#include "common/metrics.h"
#include "common/node_metrics.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "routing/routing_metrics.h"
#include "worker/executor.h"
#include "worker/resctrl.h"
#include "worker/worker_state.h"

namespace fsched::worker {

struct WorkerMetrics::Families {
  prometheus::Family<prometheus::Counter>* executions = nullptr;
  prometheus::Family<prometheus::Histogram>* cold_start = nullptr;
  prometheus::Family<prometheus::Histogram>* execution = nullptr;
};

namespace {

void CollectWorker(const WorkerMetrics::Options& s, GaugeWriter& out) {
  out.Add("fsched_worker_master_connected", "1 while the stream to the master is up", {},
          s.node->MasterConnected() ? 1 : 0);
  const size_t accepted = s.executor->Running().size();
  const size_t waiting = s.executor->Waiting();
  out.Add("fsched_worker_slots", "Calls this worker runs at once", {}, s.executor->slots());
  out.Add("fsched_worker_invocations", "Calls on this worker, running or waiting for a slot",
          {{"state", "running"}}, static_cast<double>(accepted - std::min(accepted, waiting)));
  out.Add("fsched_worker_invocations", "Calls on this worker, running or waiting for a slot",
          {{"state", "waiting"}}, static_cast<double>(waiting));
  const v1::WorkerLoad load = s.node->ScrapeLoad();
  out.Add("fsched_worker_cpu_utilization_ratio", "Host CPU busy share, 0..1", {},
          load.cpu_percent() / 100);
  out.Add("fsched_worker_memory_utilization_ratio", "Host memory in use, 0..1", {},
          load.memory_percent() / 100);
  out.Add("fsched_worker_memory_available_bytes", "Host memory available", {},
          static_cast<double>(load.memory_available_bytes()));
  out.Add("fsched_worker_load1", "Host 1-minute load average", {}, load.load1());
  const std::array<double, 4> warm = CountByMode(load.warm());
  for (const v1::ExecutionMode mode : {v1::EXECUTION_MODE_PREWARMED, v1::EXECUTION_MODE_WARM}) {
    out.Add("fsched_worker_warm_instances",
            "Idle instances kept (prewarmed: never ran; warm: ran before)",
            {{"mode", EnumLabel(v1::ExecutionMode_Name(mode), "EXECUTION_MODE_")}}, warm[mode]);
  }
  const double total_ways = s.cache ? s.cache->total_ways() : 0;
  const double free_ways = s.cache ? s.cache->free_ways() : 0;
  out.Add("fsched_worker_cache_ways", "LLC ways this worker partitions (0 = no CAT)", {},
          total_ways);
  out.Add("fsched_worker_cache_ways_reserved", "LLC ways held by running calls' partitions", {},
          total_ways - free_ways);
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerMetrics>> WorkerMetrics::Start(const MetricsConfig& config,
                                                                    Options options) {
  std::unique_ptr<WorkerMetrics> m(new WorkerMetrics());
  ASSIGN_OR_RETURN(m->node_, NodeMetrics::Start(config, {options.node_id, "worker", options.zone}));
  m->routing_ = std::make_unique<routing::RoutingMetrics>(&m->node_->endpoint(), options.routing,
                                                          &m->node_->functions());
  prometheus::Registry& registry = m->node_->endpoint().registry();
  auto families = std::make_unique<Families>();
  families->executions = &prometheus::BuildCounter()
                              .Name("fsched_worker_executions_total")
                              .Help(
                                  "Calls this worker ran, by function, how their instance "
                                  "started (cold, prewarmed, warm) and outcome")
                              .Register(registry);
  families->cold_start = &prometheus::BuildHistogram()
                              .Name("fsched_worker_cold_start_seconds")
                              .Help("Instance creation for cold starts on this worker")
                              .Register(registry);
  families->execution = &prometheus::BuildHistogram()
                             .Name("fsched_worker_execution_seconds")
                             .Help("Wall time inside the function on this worker")
                             .Register(registry);
  m->families_ = std::move(families);
  m->node_->endpoint().AddGauges([options](GaugeWriter& out) { CollectWorker(options, out); });
  return m;
}

WorkerMetrics::~WorkerMetrics() {
  node_.reset();  // no scrape may run while the rest goes away
}

int WorkerMetrics::port() const { return node_->port(); }

void WorkerMetrics::StopServing() { node_->StopServing(); }

routing::RoutingMetrics* WorkerMetrics::routing() { return routing_.get(); }

void WorkerMetrics::OnResult(const v1::InvocationResult& result) {
  const std::string function = node_->functions().Value(result.function());
  const std::string mode =
      result.mode() == v1::EXECUTION_MODE_UNSPECIFIED
          ? "none"
          : EnumLabel(v1::ExecutionMode_Name(result.mode()), "EXECUTION_MODE_");
  families_->executions
      ->Add({{"function", function},
             {"mode", mode},
             {"outcome", EnumLabel(v1::Outcome_Name(result.outcome()), "OUTCOME_")}})
      .Increment();
  if (result.mode() == v1::EXECUTION_MODE_UNSPECIFIED) return;  // never started
  const prometheus::Labels labels = {{"function", function}};
  if (result.mode() == v1::EXECUTION_MODE_COLD) {
    families_->cold_start->Add(labels, LatencyBuckets())
        .Observe(ToSeconds(result.timings().cold_start()));
  }
  families_->execution->Add(labels, LatencyBuckets())
      .Observe(ToSeconds(result.timings().execution()));
}

}  // namespace fsched::worker
