// A discrete-event simulation of one fsched cluster on virtual time. The queue
// order, placement policy, run-time predictor and the late-binding dispatch
// step are the master's own (fsched::scheduling); only the workers, the clock
// and the arrivals are simulated.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "scheduling/llc_predictor.h"
#include "scheduling/queue_order.h"
#include "scheduling/runtime_predictor.h"
#include "tools/fsched-sim/cache_model.h"
#include "tools/workload/workload.h"

namespace fsched::sim {

using workload::Arrival;
using workload::ArrivalSource;
using workload::kMinDurationSeconds;

struct SimulationOptions {
  uint32_t workers = 10;
  uint32_t slots = 4;  // concurrent invocations per worker
  double cold_start_seconds =
      0.5;  // paid when no idle warm instance of the function is on the worker
  double keep_alive_seconds = 600;  // an idle instance stays warm this long
  std::string queue_order = "aging-srtf";
  std::string placement = "least-loaded";
  scheduling::QueueOrderOptions order_options;
  scheduling::RuntimePredictor::Options predictor;
  bool oracle = false;  // order by true durations instead of predictions
  uint64_t seed = 1;    // for placement policies that draw at random
  CacheModel cache;     // partitioning "off": no cache model
};

struct SimulationResult {
  std::string queue_order;
  std::string placement;
  uint64_t invocations = 0;
  double mean_response = 0;  // arrival -> completion, seconds
  double p50_response = 0;
  double p99_response = 0;
  double mean_wait = 0;  // arrival -> start (queue only)
  double p99_wait = 0;
  double max_wait = 0;
  double over_max_wait_fraction = 0;  // share that waited longer than order_options.max_wait
  double mean_slowdown = 0;           // response / execution
  double longest_job = 0;             // longest execution, seconds
  double throughput = 0;              // completions per second of virtual time
  double makespan = 0;                // first arrival -> last completion, seconds
  double utilisation = 0;             // execution seconds / (slots · arrival span)
  double cold_start_fraction = 0;
  uint64_t max_queue = 0;
  // Median absolute percentage error of the predictor against the true
  // duration, at dispatch time; NaN in oracle mode.
  double predictor_mdape_tsi = 0;
  double predictor_mdape_tsu = 0;
  std::string partitioning;        // the cache model's, "off" without one
  double mean_cache_ways = 0;      // ways a job had, on average
  double mean_cache_slowdown = 1;  // its time over its time with the whole cache
  double wall_seconds = 0;
};

/// Runs `arrivals` to completion.
/// \return INVALID_ARGUMENT for an unknown queue order, placement policy or
///         cache partitioning, a cluster with no slots, or cache curves that do
///         not match the functions.
absl::StatusOr<SimulationResult> Simulate(const SimulationOptions& options,
                                          ArrivalSource& arrivals);

}  // namespace fsched::sim
