// The wire format between a worker and the fsched-shim inside a warm
// container: length-prefixed frames of tag-length-value fields over the
// container's stdin (requests) and stdout (replies). Plain C++ with no
// dependencies, because the shim is linked statically into every container.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/shim/frames.h"

namespace fsched::shim {

/// One call: what to execute and how.
struct Request {
  std::vector<std::string> argv;  // argv[0] looked up in the PATH of `env`
  std::vector<std::string> env;   // "KEY=value": the whole environment
  std::string cwd;                // empty = "/"
  std::string stdin_data;
  uint64_t output_limit_bytes = 1024 * 1024;  // per stream
};

enum class ReplyKind : uint8_t {
  kReady = 0,        // the shim is up (sent once, unasked)
  kExited = 1,       // exit_code holds the status
  kSignaled = 2,     // term_signal holds the signal
  kStartFailed = 3,  // message says why the command could not run
  kCancelled = 4,    // the worker asked to stop the call (SIGUSR1) and it was killed
};

struct Reply {
  ReplyKind kind = ReplyKind::kReady;
  int32_t exit_code = 0;
  int32_t term_signal = 0;
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  uint64_t execution_ns = 0;  // fork to reap, inside the container
  uint64_t cpu_ns = 0;        // user + system of the call's processes
  uint64_t max_rss_kb = 0;
  std::string message;
  int32_t pid = 0;  // kReady: the shim's PID inside its namespace
};

/// The shim's flags, before any "--instance".
/// "--user=UID:GID": drop to that user and group before serving, for engines
/// that cannot set the init's user (ctr).
inline constexpr std::string_view kUserFlag = "--user=";
/// "--cpus=0,1,5": run the shim, and all it starts, on these CPUs (the
/// worker's worker.cpus). A container's processes do not reliably inherit the
/// worker's: ctr's tasks are containerd's children, and before Linux 6.2
/// joining a container's new cpuset cgroup resets a process's CPUs.
inline constexpr std::string_view kCpusFlag = "--cpus=";
/// "--sched-batch": the shim, and all it starts, under SCHED_BATCH
/// (worker.cpu_policy), for the same reason.
inline constexpr std::string_view kSchedBatchFlag = "--sched-batch";
/// "--instance -- CMD [ARGS...]": run CMD as a persistent function instance
/// (worker/shim/instance.h) rather than serve exec calls. Flags before it.
inline constexpr std::string_view kInstanceFlag = "--instance";

std::string EncodeRequest(const Request& request);
std::string EncodeReply(const Reply& reply);
/// nullopt when `body` (one frame without its length prefix) is malformed.
std::optional<Request> DecodeRequest(std::string_view body);
std::optional<Reply> DecodeReply(std::string_view body);

}  // namespace fsched::shim
