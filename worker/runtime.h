// How a worker runs one function invocation. One implementation per runtime
// kind (process, runc, containerd), chosen per function.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"

namespace fsched::worker {

struct ExecRequest {
  std::string invocation_id;
  v1::FunctionSpec function;
  std::vector<std::string> argv;  // function command + invocation args
  std::map<std::string, std::string> env;
  std::string working_dir;
  std::string stdin_data;
  absl::Duration timeout = absl::Seconds(60);
  uint64_t output_limit_bytes = 1024 * 1024;  // per stream
  double predicted_seconds = 0;               // the master's estimate of the run; 0 = none
  // Called with the host PID of each process that runs the call (every process
  // of a container: its shim, a persistent instance; a process instance)
  // before the call's work starts; their children inherit what they are given
  // (the cache partition).
  std::function<void(pid_t)> on_start;
  // The resctrl tasks file of the call's cache partition ("" = none). A runtime
  // that starts a process per call joins it there before exec, so the
  // function's first instruction runs in its partition, and skips on_start.
  std::string cache_tasks_file;
  // The EEVDF slice of the call's threads (ALPS's learned slice; zero = the
  // kernel's own). A process started for the call takes it before exec; the
  // processes of a container or an instance are given it as the call starts.
  absl::Duration cpu_slice;
};

struct ExecResult {
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  int exit_code = 0;
  int term_signal = 0;
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  std::string message;  // why, when outcome != OK
  v1::ExecutionMode mode = v1::EXECUTION_MODE_COLD;
  absl::Time started;
  absl::Duration cold_start;  // creating the process/container
  absl::Duration init;        // a persistent instance's initialisation (within cold_start)
  absl::Duration execution;   // wall time of the function itself, frozen time excluded
  absl::Duration paused;      // time frozen
  absl::Duration cpu_time;    // user + system
};

/// How the executor steers a running invocation. Both flags are polled.
struct RunControl {
  std::atomic<bool> cancelled{false};  // stop it; the result says CANCELLED
  std::atomic<bool> paused{false};     // freeze it (time frozen does not count toward the timeout)
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual std::string_view name() const = 0;
  virtual v1::RuntimeKind kind() const = 0;
  /// Runs one invocation to its end. Every way a function can fail (cannot
  /// start, non-zero exit, timeout, cancel) is reported in the result, never
  /// as a C++ error. Thread-safe: one call per running invocation.
  /// \param control polled while the function runs.
  virtual ExecResult Run(const ExecRequest& request, const RunControl& control) = 0;
  /// Whether Run honours RunControl::paused.
  virtual bool can_freeze() const = 0;
};

}  // namespace fsched::worker
