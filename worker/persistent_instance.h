// One running instance of a persistent function: a process started once,
// initialised once (up to its ready frame), then serving calls one after
// another over the instance protocol (worker/instance_protocol.h). A call is
// one frame written and one read on the calling thread: no fork, no exec, no
// thread. Whatever goes wrong during a call (the instance dies, times out,
// is cancelled, answers garbage) leaves it dead: the caller discards it, so
// nothing of a failed call reaches the next one.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "worker/child_process.h"
#include "worker/fd.h"
#include "worker/runtime.h"

namespace fsched::worker {

class PersistentInstance {
 public:
  struct Spec {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // the whole environment of the instance
    std::string working_dir;
    ChildIdentity identity;
    absl::Duration init_timeout = absl::Seconds(30);
    uint64_t log_limit_bytes = 1024 * 1024;  // of what it writes to stdout/stderr, per call
  };

  /// Starts `spec` and waits for its ready frame. Null on failure, with
  /// `failure` saying why: START_FAILED (could not spawn) or INIT_FAILED
  /// (it exited, said so, timed out or was cancelled before ready; stderr
  /// holds what it wrote). Either way nothing of it is left running.
  static std::unique_ptr<PersistentInstance> Start(const Spec& spec, const RunControl& control,
                                                   ExecResult* failure);
  ~PersistentInstance();

  bool served() const { return calls_ > 0; }
  /// One call. stdout_data is the handler's output, stderr_data what the
  /// instance wrote to its stdout and stderr meanwhile. After any outcome
  /// but OK and FUNCTION_ERROR the instance is dead (alive() is false).
  ExecResult Call(const ExecRequest& request, const RunControl& control);
  bool alive() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint64_t calls() const { return calls_; }
  /// Time from spawn to ready.
  absl::Duration init_time() const { return init_; }
  /// The instance process's resident memory now (0 if unknown).
  uint64_t ResidentBytes() const;
  /// Kills its process group and reaps it.
  void Kill();

 private:
  PersistentInstance() = default;
  // Waits for the next reply frame until `deadline` (moved by frozen time),
  // draining the log meanwhile and writing `pending` out as the pipe takes it.
  enum class Wait { kReply, kExited, kTimeout, kCancelled, kMalformed };
  Wait AwaitReply(absl::Time deadline, const RunControl* control, std::string_view pending,
                  std::string* body, ExecResult* result);
  // Reaps the exited process and says how it ended in `result`.
  void ReapInto(ExecResult* result);

  pid_t pid_ = -1;
  Fd requests_, replies_, log_, pidfd_;
  std::string reply_buffer_;
  uint64_t log_limit_ = 0;
  uint64_t calls_ = 0;
  absl::Duration init_;
  bool frozen_ = false;
};

}  // namespace fsched::worker
