// How fsched-bench sends: open-loop levels on the async API (each call at its
// scheduled time, whatever earlier calls are doing), closed-loop stages of N
// users for a duration or a call count with a warm-up, and sequential cycles
// over several functions. All stop cleanly on SIGINT/SIGTERM: no new sends,
// calls in flight cancelled, what was measured kept.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "tools/fsched-bench/plan.h"
#include "tools/fsched-bench/results.h"
#include "tools/fsched-bench/targets.h"

namespace fsched::bench {

/// The first SIGINT or SIGTERM asks the run to stop; a second one ends the
/// process the default way.
void InstallInterruptHandler();
bool Interrupted();

/// What every call carries: the functions and the payload/argument templates.
struct RequestTemplate {
  std::vector<std::string> functions;
  std::string payload;            // see FillTemplate
  std::vector<std::string> args;  // appended to the function's command, templated too
  v1::Architecture architecture = v1::ARCHITECTURE_UNSPECIFIED;
  absl::Duration deadline = absl::Minutes(20);  // per call, client side

  v1::InvokeRequest Make(int index, uint32_t function, double trace_duration) const;
};

/// A one-line progress bar on stderr, redrawn a few times a second, when
/// stderr is a terminal; silent otherwise (logs and pipes stay clean).
class Progress {
 public:
  Progress();
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `total` calls expected (0 = unknown) over `length` (zero = unknown).
  void StartLevel(const std::string& title, int64_t total, absl::Duration length);
  void Sent() { sent_.fetch_add(1, std::memory_order_relaxed); }
  void Answered(bool ok) {
    answered_.fetch_add(1, std::memory_order_relaxed);
    if (!ok) failed_.fetch_add(1, std::memory_order_relaxed);
  }
  void EndLevel();

 private:
  void Draw(bool final) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const bool enabled_;
  std::atomic<int64_t> sent_{0}, answered_{0}, failed_{0};
  absl::Mutex mu_;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  std::string title_ ABSL_GUARDED_BY(mu_);
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration length_ ABSL_GUARDED_BY(mu_);
  absl::Time start_ ABSL_GUARDED_BY(mu_);
  std::thread drawer_;
};

struct OpenLevelReport {
  // Rates over the calls actually sent, from first to last: what the schedule
  // asked for (a Poisson draw differs from the nominal rate by chance) and
  // what the driver achieved. Their ratio is the driver's own accuracy.
  double scheduled_rps = 0;
  double achieved_rps = 0;
  int late = 0;  // sends later than max_lag behind their schedule
  absl::Duration worst_lag;
  // The 99th percentile of send lag: above max_lag, the driver fell behind
  // (more than 1 % of sends late, interpolated, so one late send among a
  // few dozen at a low rate is not "behind").
  absl::Duration p99_lag;
};

/// Sends `plan` on schedule. Returns one Sample per planned call (unsent ones
/// marked, when interrupted).
std::vector<Sample> RunOpenLevel(InvokeTargets* targets, const RequestTemplate& request,
                                 const LevelPlan& plan, int level, int first_index,
                                 absl::Duration max_lag, Progress* progress,
                                 OpenLevelReport* report);

struct StageOptions {
  int users = 1;
  int requests = 0;  // calls counted after the warm-up; 0 = run for `duration`
  absl::Duration duration;
  absl::Duration warmup;  // calls sent this early in the stage are recorded as warm-up
};

/// A closed-loop stage: each user sends its next call when its last one is
/// answered, cycling through the functions (user u starts at function u).
std::vector<Sample> RunClosedStage(InvokeTargets* targets, const RequestTemplate& request,
                                   const StageOptions& stage, int level, int first_index,
                                   Progress* progress);

/// `cycles` rounds, one call at a time: every function in order, then again.
std::vector<Sample> RunCycles(InvokeTargets* targets, const RequestTemplate& request, int cycles,
                              int level, int first_index, Progress* progress);

}  // namespace fsched::bench
