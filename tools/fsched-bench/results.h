// What fsched-bench measured and how it is written down: one Sample per call,
// the per-invocation CSV, and summaries per load level (and per function
// within a level) as text, in the seeds' run-all-out.txt layout, and as JSON.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"

namespace fsched::bench {

struct Sample {
  int index = 0;
  int level = 0;                // index of the level or stage in the run
  std::string shape;            // the level's description, e.g. "Poisson 5 req/s", "20 users"
  double offered_rps = 0;       // open loop: the level's rate; 0 otherwise
  int users = 0;                // closed loop: the stage's concurrency; 0 otherwise
  bool warmup = false;          // sent during a stage's warm-up: recorded, not summarised
  std::string function;         // the registered function invoked
  std::string trace_function;   // replay: the trace's function it stands for
  bool scheduled_send = false;  // open loop: `scheduled` is meaningful
  absl::Time scheduled;
  bool sent = false;  // false if the run was stopped before this call went out
  absl::Time sent_at;
  bool abandoned = false;     // cancelled by the driver when the run was interrupted
  double client_latency = 0;  // seconds from send to answer, measured by the driver
  int rpc_code = 0;           // grpc::StatusCode
  std::string rpc_message;
  v1::InvocationResult result;
};

/// Statistics of one group of samples (warm-ups, unsent and abandoned calls
/// excluded from the figures, but counted).
struct GroupStats {
  std::string shape, function;  // function empty = the whole level
  std::string mode;             // "cold", "prewarmed", "warm"; empty = every mode
  double offered_rps = 0;
  int users = 0;
  int count = 0;  // answered calls (any outcome) plus RPC failures
  int succeeded = 0, function_failed = 0, rpc_failed = 0, warmup = 0, abandoned = 0;
  double elapsed = 0;     // seconds from the first counted send to the last answer
  double throughput = 0;  // succeeded / elapsed
  // Client-side latency (seconds) of answered calls, and the master's parts.
  double mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
  double queue_wait_mean = 0, cold_start_mean = 0, execution_mean = 0;
  // What the platform adds: client latency minus the function's own execution.
  double overhead_p50 = 0, overhead_p99 = 0;
  // Open loop: how well the driver kept its schedule, over every call it sent
  // (warm-ups included): the rate it sent at, from first to last send, and
  // the send lag behind each call's scheduled time (seconds).
  bool open_loop = false;
  double sent_rps = 0;
  double send_lag_p99 = 0, send_lag_max = 0;
  // With a deadline: counted calls that failed or answered later than it.
  double deadline = 0;  // seconds; 0 = none given
  int deadline_missed = 0;
  double deadline_miss_rate = 0;
  std::string first_failure;
};

/// Groups `samples` by level, by function within a level when a level invokes
/// more than one, and by execution mode within those when calls were served
/// in more than one mode. Levels come out in run order, then functions by
/// name, then modes (cold, prewarmed, warm).
/// With `deadline` > 0, also the share of calls that missed it (failed or late).
std::vector<GroupStats> SummarizeRun(const std::vector<Sample>& samples,
                                     absl::Duration deadline = absl::ZeroDuration());

/// Human-readable block per level (functions indented under it).
std::string FormatSummary(const std::vector<GroupStats>& groups);

/// The seeds' run-all-out.txt: per level (and function), count then mean,
/// median, p90, p95 and p99 of the response time in seconds, one per line.
std::string FormatRunAllOut(const std::vector<GroupStats>& groups);

/// One JSON object: {"label", "interrupted", "levels": [...]}.
std::string FormatJson(const std::string& label, bool interrupted,
                       const std::vector<GroupStats>& groups);

/// The per-invocation CSV (header + one row per sent call).
absl::Status WriteCsv(const std::string& path, const std::vector<Sample>& samples);

/// Writes invocations.csv, summary.txt, run-all-out.txt and summary.json into
/// `directory` (created if missing).
absl::Status WriteResults(const std::string& directory, const std::string& label, bool interrupted,
                          const std::vector<Sample>& samples,
                          const std::vector<GroupStats>& groups);

}  // namespace fsched::bench
