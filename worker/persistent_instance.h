// One running instance of a persistent function: a process started once,
// initialised once (up to its ready frame), then serving calls one after
// another over the instance protocol (worker/instance_protocol.h). A call is
// one frame written and one read on the calling thread: no fork, no exec, no
// thread. Whatever goes wrong during a call (the instance dies, times out,
// is cancelled, answers garbage) leaves it dead: the caller discards it, so
// nothing of a failed call reaches the next one.
//
// The instance is a child process of the worker (Start), or the process a
// container's fsched-shim runs in instance mode (Attach, with the container
// behind a Process of its own).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"
#include "worker/child_process.h"
#include "worker/fd.h"
#include "worker/instance_protocol.h"
#include "worker/runtime.h"

namespace fsched::worker {

/// How long `function`'s instance may take to be ready (limits.init_timeout, 30 s by default).
absl::Duration InitTimeout(const v1::FunctionSpec& function);

/// The argv of `function`'s instance: the runtime shipped with fsched for its
/// language (under `runtimes_dir`, as the instance sees it), or its command.
/// FAILED_PRECONDITION for a language this worker has no runtime for, or no command.
absl::StatusOr<std::vector<std::string>> InstanceCommand(const v1::FunctionSpec& function,
                                                         const std::string& runtimes_dir);

class PersistentInstance {
 public:
  /// How the worker controls the instance's process.
  class Process {
   public:
    virtual ~Process() = default;
    /// Host PID: of the process, or of its container's init.
    virtual pid_t pid() const = 0;
    /// Readable once the process is gone; -1 when there is none (then
    /// Exited() is polled).
    virtual int exit_fd() const = 0;
    virtual bool Exited() const = 0;
    virtual void Freeze(bool frozen) = 0;
    /// Kills it and whatever it started, at once. Idempotent.
    virtual void Kill() = 0;
    /// After it ended on its own: its exit code or signal (false when it
    /// cannot say), and kills what it left.
    virtual bool Reap(int* exit_code, int* term_signal) = 0;
    /// CPU time of the instance so far, all its threads.
    virtual absl::Duration CpuTime() const = 0;
    /// Memory it holds now (0 if unknown).
    virtual uint64_t ResidentBytes() const = 0;
    /// How long its last frames may still take to arrive once it is seen
    /// gone: zero for a pipe it writes itself, more for a relayed one.
    virtual absl::Duration output_lag() const { return absl::ZeroDuration(); }
  };
  /// The worker's ends of the instance protocol.
  struct Channel {
    Fd requests;  // its fd 3
    Fd replies;   // its fd 4
    Fd log;       // its stdout and stderr
  };

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
  /// Waits for the ready frame of an instance started at `started` and wired
  /// to `channel`; as Start from there.
  static std::unique_ptr<PersistentInstance> Attach(std::unique_ptr<Process> process,
                                                    Channel channel, absl::Time started,
                                                    absl::Duration init_timeout,
                                                    uint64_t log_limit_bytes,
                                                    const RunControl& control, ExecResult* failure);
  ~PersistentInstance();

  bool served() const { return calls_.load() > 0; }
  /// One call. stdout_data is the handler's output, stderr_data what the
  /// instance wrote to its stdout and stderr meanwhile. After any outcome
  /// but OK and FUNCTION_ERROR the instance is dead (alive() is false).
  ExecResult Call(const ExecRequest& request, const RunControl& control);
  /// A call while other threads may have calls in flight on this instance
  /// (the function's warm.concurrency > 1); replies are matched by
  /// invocation id, and one waiting caller at a time reads for all. A call
  /// cannot be stopped alone: a timeout, cancel, crash or protocol violation
  /// ends the instance and fails every call in it. Freezing does not apply,
  /// and the log of a call may hold lines of calls running beside it; CPU
  /// time is not measured per call.
  ExecResult CallShared(const ExecRequest& request, const RunControl& control);
  bool alive() const { return alive_.load(); }
  pid_t pid() const { return process_->pid(); }
  uint64_t calls() const { return calls_.load(); }
  /// Time from spawn to ready.
  absl::Duration init_time() const { return init_; }
  /// The instance's resident memory now (0 if unknown).
  uint64_t ResidentBytes() const { return process_->ResidentBytes(); }
  /// Kills it (and what it started).
  void Kill();
  /// Whether it may serve again after a call that ended in `result`: alive,
  /// the call OK or the handler's own error, and not due for recycling
  /// (function.warm: after N calls, above a memory ceiling).
  bool Reusable(const v1::FunctionSpec& function, const ExecResult& result) const;

 private:
  PersistentInstance() = default;
  // Waits for the next reply frame until `deadline` (moved by frozen time),
  // draining the log meanwhile and writing `pending` out as the pipe takes it.
  enum class Wait { kReply, kExited, kTimeout, kCancelled, kMalformed };
  Wait AwaitReply(absl::Time deadline, const RunControl* control, std::string_view pending,
                  std::string* body, ExecResult* result);
  // Says how the ended process ended in `result`: from the shim's exited
  // frame `exited` when there is one, else from Process::Reap.
  void ReapInto(ExecResult* result, const InstanceReply* exited = nullptr);

  static std::string RequestFrame(const ExecRequest& request, absl::Time deadline);
  static void TakeReply(const ExecRequest& request, InstanceReply reply, ExecResult* result);
  // CallShared's parts: write a frame (under write_mu_); read what is there
  // (the one reader; true once the instance is gone); hand complete frames
  // to their calls; end the instance saying why.
  // Appends what the reply pipe holds to reply_buffer_; false at its end.
  bool ReadReplies();
  // Once the process is seen gone: reads what the reply pipe holds, and to
  // its end for up to the process's output_lag (its last frames may lag).
  void ReadRepliesToTheEnd();
  void WriteShared(std::string_view frame, absl::Time deadline, const RunControl& control);
  bool ReadShared(ExecResult* result);
  void DispatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_mu_);
  void DieLocked(std::string why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_mu_);

  std::unique_ptr<Process> process_;
  std::atomic<bool> alive_{false};
  Fd requests_, replies_, log_;
  std::string reply_buffer_;
  uint64_t log_limit_ = 0;
  std::atomic<uint64_t> calls_{0};
  absl::Mutex write_mu_;
  absl::Mutex shared_mu_;
  absl::CondVar replied_;
  bool reading_ ABSL_GUARDED_BY(shared_mu_) = false;
  absl::flat_hash_map<std::string, std::optional<InstanceReply>> awaited_
      ABSL_GUARDED_BY(shared_mu_);
  struct Death {
    int exit_code = 0;
    int term_signal = 0;
    std::string message;  // "exited with status 3", "was killed: ..."
  } death_ ABSL_GUARDED_BY(shared_mu_);
  absl::Duration init_;
  bool frozen_ = false;
};

}  // namespace fsched::worker
