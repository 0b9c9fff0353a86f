// Supervises one child process from spawn to exit: its own process group,
// stdin fed from a string, stdout/stderr captured up to a cap (the rest
// drained so it never blocks), a deadline that frozen time moves, and
// cancellation and freezing polled from RunControl. The process runtime is
// this with the defaults; a container runtime supervises its runtime binary
// (e.g. `runc run`) the same way and passes hooks that stop or freeze the
// container rather than just that process.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "worker/runtime.h"

namespace fsched::worker {

/// Who a child runs as and what it may use, applied between fork and exec.
/// Empty: the worker's own user, the worker's limits.
struct ChildIdentity {
  std::optional<uid_t> uid;  // with gid: no supplementary groups, then setresgid, setresuid
  gid_t gid = 0;
  std::vector<std::pair<int, rlim_t>> rlimits;  // RLIMIT_* -> soft = hard = value
  // Open control files (cgroup.procs, resctrl tasks) the child writes its pid
  // to, as root and before it execs: it is in its cgroups and cache partition
  // before any code of the function runs. Not owned.
  std::vector<int> join_fds;
  // The child's EEVDF slice (ALPS), set before it execs; 0 = the kernel's.
  uint64_t cpu_slice_ns = 0;
  bool empty() const {
    return !uid.has_value() && rlimits.empty() && join_fds.empty() && cpu_slice_ns == 0;
  }
};

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] resolved through the worker's PATH
  std::vector<std::string> env;   // "KEY=value", the whole environment
  std::string working_dir;        // empty = the worker's
  std::string stdin_data;
  absl::Duration timeout = absl::Seconds(60);
  uint64_t output_limit_bytes = 1024 * 1024;  // per stream
  ChildIdentity identity;
};

struct ChildHooks {
  /// Called before the child's process group gets SIGKILL at a timeout or a cancel.
  std::function<void(pid_t)> kill;
  /// Replaces SIGSTOP/SIGCONT of the process group when set.
  std::function<void(pid_t, bool freeze)> freeze;
  /// Called with the child's PID right after it is spawned.
  std::function<void(pid_t)> started;
};

/// Starts `argv` with `env` (the whole environment) in its own process group,
/// a clean signal mask and default dispositions, `stdio` as its fds 0, 1 and
/// 2 (and `inherit` as its fds 3, 4, ...), in `working_dir` (empty = the
/// worker's), as `identity`. posix_spawnp
/// when the identity is empty; otherwise a vfork-style clone whose child sets
/// the limits and drops to the user before it execs (posix_spawn cannot).
/// Returns 0 or the errno of the step that failed.
int SpawnChild(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const int stdio[3], const std::string& working_dir, pid_t* pid,
               const ChildIdentity& identity = {}, const std::vector<int>& inherit = {});

/// Reads what `fd` (non-blocking) has; keeps at most `limit` bytes in `out`
/// and drains the rest so the writer never blocks on a full pipe.
/// \return false at EOF or error.
bool DrainPipe(int fd, uint64_t limit, std::string* out, bool* truncated);
/// A pidfd for `pid` (readable once it exits), or -1 where the kernel has none.
int OpenPidFd(pid_t pid);
/// "SIGKILL", or "signal N".
std::string SignalName(int sig);

/// The PATH host tools (runc, ctr, tar) are looked up in.
inline constexpr char kToolPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs a host tool to its end: its stdout when it exits 0, otherwise
/// INTERNAL with the command line and what the tool wrote to stderr.
absl::StatusOr<std::string> RunTool(const std::vector<std::string>& argv,
                                    absl::Duration timeout = absl::Seconds(30));

/// Runs `spec` to its end. Every way it can fail is in the result (mode COLD,
/// cold start = the spawn), never a C++ error.
ExecResult RunChild(const ChildSpec& spec, const RunControl& control, const ChildHooks& hooks = {});

}  // namespace fsched::worker
