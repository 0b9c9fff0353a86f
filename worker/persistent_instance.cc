#include "worker/persistent_instance.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "worker/instance_protocol.h"
#include "worker/shim/frames.h"

namespace fsched::worker {
namespace {

// The CPU clock of every thread of `pid` (nanoseconds, not ticks), or
// nullopt. Looked up once per child: glibc checks the process with a
// clock_getres syscall at each lookup, and a warm call reads the clock twice.
std::optional<clockid_t> ProcessCpuClock(pid_t pid) {
  clockid_t clock;
  if (pid <= 0 || ::clock_getcpuclockid(pid, &clock) != 0) return std::nullopt;
  return clock;
}

// The instance as a child of the worker, leading its own process group.
class ChildProcess final : public PersistentInstance::Process {
 public:
  explicit ChildProcess(pid_t pid)
      : pid_(pid),
        pidfd_(OpenPidFd(pid)),
        statm_(::open(absl::StrCat("/proc/", pid, "/statm").c_str(), O_RDONLY | O_CLOEXEC)),
        cpu_clock_(ProcessCpuClock(pid)) {}
  ~ChildProcess() override { Kill(); }
  pid_t pid() const override { return pid_; }
  int exit_fd() const override { return pidfd_.get(); }
  bool Exited() const override {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  }
  void Freeze(bool frozen) override { ::kill(-pid_, frozen ? SIGSTOP : SIGCONT); }
  void Kill() override {
    if (reaped_) return;
    ::kill(-pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  bool Reap(int* exit_code, int* term_signal) override {
    if (reaped_) return false;
    // It closed its reply pipe, so it is going: a second to go, then it is
    // killed (one that closes the pipe and lingers must not hold the caller).
    for (int waited_ms = 0; !Exited() && waited_ms < 1000; waited_ms += 5) ::usleep(5000);
    if (!Exited()) ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    ::kill(-pid_, SIGKILL);  // what it started does not outlive it
    if (WIFEXITED(status)) *exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) *term_signal = WTERMSIG(status);
    return WIFEXITED(status) || WIFSIGNALED(status);
  }
  absl::Duration CpuTime() const override {
    timespec ts{};
    if (reaped_ || !cpu_clock_.has_value() || ::clock_gettime(*cpu_clock_, &ts) != 0) {
      return absl::ZeroDuration();
    }
    return absl::DurationFromTimespec(ts);
  }
  // Read after every call of a function without a memory limit (its warm
  // charge): one pread of a file kept open, not an open, a stream and a close.
  uint64_t ResidentBytes() const override {
    if (reaped_) return 0;
    char text[128];
    const ssize_t n = statm_.valid() ? ::pread(statm_.get(), text, sizeof(text) - 1, 0) : -1;
    if (n <= 0) return 0;
    text[n] = '\0';
    // "size resident shared ...", in pages.
    char* end = nullptr;
    std::strtoull(text, &end, 10);
    const uint64_t resident = std::strtoull(end, nullptr, 10);
    return resident * kPageBytes;
  }

 private:
  static inline const uint64_t kPageBytes = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const pid_t pid_;
  Fd pidfd_;
  const Fd statm_;  // /proc/<pid>/statm; pread is safe from several call threads
  const std::optional<clockid_t> cpu_clock_;
  bool reaped_ = false;
};

std::string KindName(InstanceReplyKind kind) {
  switch (kind) {
    case InstanceReplyKind::kReady:
      return "ready";
    case InstanceReplyKind::kOk:
      return "ok";
    case InstanceReplyKind::kError:
      return "error";
    case InstanceReplyKind::kInitFailed:
      return "init-failed";
    case InstanceReplyKind::kExited:
      return "exited";
  }
  return "unknown";
}

}  // namespace

absl::Duration InitTimeout(const v1::FunctionSpec& function) {
  return function.limits().has_init_timeout() ? FromProto(function.limits().init_timeout())
                                              : absl::Seconds(30);
}

absl::StatusOr<std::vector<std::string>> InstanceCommand(const v1::FunctionSpec& function,
                                                         const std::string& runtimes_dir) {
  std::vector<std::string> argv;
  if (function.language() == "python") {
    argv = {"python3", absl::StrCat(runtimes_dir, "/python/fsched_runtime.py")};
  } else if (function.language() == "node") {
    argv = {"node", absl::StrCat(runtimes_dir, "/node/fsched_runtime.js")};
  } else if (!function.language().empty()) {
    return absl::FailedPreconditionError(absl::StrCat("this worker has no '", function.language(),
                                                      "' runtime (it has python and node)"));
  } else {
    argv.assign(function.command().begin(), function.command().end());
  }
  if (argv.empty() || argv[0].empty()) {
    return absl::FailedPreconditionError("the function has no command");
  }
  return argv;
}

std::unique_ptr<PersistentInstance> PersistentInstance::Start(const Spec& spec,
                                                              const RunControl& control,
                                                              ExecResult* failure) {
  *failure = ExecResult();
  failure->mode = v1::EXECUTION_MODE_COLD;
  Channel channel;
  Fd request_read, reply_write, log_write;
  Fd null_input(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!MakePipe(&request_read, &channel.requests) || !MakePipe(&channel.replies, &reply_write) ||
      !MakePipe(&channel.log, &log_write) || !null_input.valid()) {
    failure->outcome = v1::OUTCOME_START_FAILED;
    failure->message = absl::StrCat("cannot create the instance's pipes: ", std::strerror(errno));
    return nullptr;
  }
  const absl::Time spawn_start = absl::Now();
  const int stdio[3] = {null_input.get(), log_write.get(), log_write.get()};
  pid_t pid = -1;
  const int error = SpawnChild(spec.argv, spec.env, stdio, spec.working_dir, &pid, spec.identity,
                               {request_read.get(), reply_write.get()});
  request_read.Close();
  reply_write.Close();
  log_write.Close();
  if (error != 0) {
    failure->outcome = v1::OUTCOME_START_FAILED;
    failure->message = absl::StrCat(
        "cannot start '", spec.argv.empty() ? "" : spec.argv[0], "': ", std::strerror(error),
        spec.working_dir.empty() ? "" : absl::StrCat(" (working_dir '", spec.working_dir, "')"));
    return nullptr;
  }
  return Attach(std::make_unique<ChildProcess>(pid), std::move(channel), spawn_start,
                spec.init_timeout, spec.log_limit_bytes, control, failure);
}

std::unique_ptr<PersistentInstance> PersistentInstance::Attach(std::unique_ptr<Process> process,
                                                               Channel channel, absl::Time started,
                                                               absl::Duration init_timeout,
                                                               uint64_t log_limit_bytes,
                                                               const RunControl& control,
                                                               ExecResult* failure) {
  *failure = ExecResult();
  failure->mode = v1::EXECUTION_MODE_COLD;
  std::unique_ptr<PersistentInstance> instance(new PersistentInstance());
  instance->process_ = std::move(process);
  instance->alive_ = true;
  instance->log_limit_ = log_limit_bytes;
  instance->requests_ = std::move(channel.requests);
  instance->replies_ = std::move(channel.replies);
  instance->log_ = std::move(channel.log);
  SetNonBlocking(instance->requests_.get());
  SetNonBlocking(instance->replies_.get());
  if (instance->log_.valid()) SetNonBlocking(instance->log_.get());

  std::string body;
  const Wait wait = instance->AwaitReply(started + init_timeout, &control, "", &body, failure);
  failure->cold_start = absl::Now() - started;
  failure->started = started;
  if (wait == Wait::kReply) {
    const std::optional<InstanceReply> reply = DecodeInstanceReply(body);
    if (reply.has_value() && reply->kind == InstanceReplyKind::kReady) {
      instance->init_ = failure->cold_start;
      // What it logged while initialising is no call's output.
      failure->stderr_data.clear();
      failure->stderr_truncated = false;
      return instance;
    }
    failure->outcome = v1::OUTCOME_INIT_FAILED;
    if (reply.has_value() && reply->kind == InstanceReplyKind::kExited) {
      instance->ReapInto(failure, &*reply);
      failure->outcome = v1::OUTCOME_INIT_FAILED;
      failure->message = absl::StrCat("the instance ", failure->message, " before it was ready");
      return nullptr;
    }
    failure->message =
        !reply.has_value() ? "the instance sent a malformed frame instead of ready"
        : reply->kind == InstanceReplyKind::kInitFailed
            ? absl::StrCat("the instance failed to initialise: ", reply->error)
            : absl::StrCat("the instance answered '", KindName(reply->kind), "' before ready");
    instance->Kill();
    return nullptr;
  }
  switch (wait) {
    case Wait::kExited: {
      instance->ReapInto(failure);
      failure->message = absl::StrCat("the instance ", failure->message, " before it was ready");
      failure->outcome = v1::OUTCOME_INIT_FAILED;
      return nullptr;
    }
    case Wait::kTimeout:
      failure->outcome = v1::OUTCOME_INIT_FAILED;
      failure->message = absl::StrCat("the instance was not ready within its init_timeout of ",
                                      absl::FormatDuration(init_timeout));
      break;
    case Wait::kCancelled:
      failure->outcome = v1::OUTCOME_CANCELLED;
      failure->message = "cancelled while the instance initialised";
      break;
    default:
      failure->outcome = v1::OUTCOME_INIT_FAILED;
      failure->message = "the instance sent a frame larger than the protocol allows";
      break;
  }
  instance->Kill();
  return nullptr;
}

PersistentInstance::~PersistentInstance() { Kill(); }

void PersistentInstance::Kill() {
  if (!alive_) return;
  if (frozen_) process_->Freeze(false);  // a stopped process dies only once resumed
  frozen_ = false;
  process_->Kill();
  alive_ = false;
}

bool PersistentInstance::Reusable(const v1::FunctionSpec& function,
                                  const ExecResult& result) const {
  if (!alive_ ||
      (result.outcome != v1::OUTCOME_OK && result.outcome != v1::OUTCOME_FUNCTION_ERROR)) {
    return false;
  }
  const v1::WarmPolicy& warm = function.warm();
  return !(warm.recycle_after_calls() > 0 && calls_ >= warm.recycle_after_calls()) &&
         !(warm.recycle_above_memory_bytes() > 0 &&
           ResidentBytes() > warm.recycle_above_memory_bytes());
}

void PersistentInstance::ReapInto(ExecResult* result, const InstanceReply* exited) {
  int exit_code = 0, term_signal = 0;
  bool known = false;
  if (exited != nullptr) {
    exit_code = exited->exit_code;
    term_signal = exited->term_signal;
    known = true;
    process_->Kill();  // its container goes with it
  } else {
    known = process_->Reap(&exit_code, &term_signal);
  }
  alive_ = false;
  frozen_ = false;
  result->outcome = v1::OUTCOME_NONZERO_EXIT;
  if (!known) {
    result->message = "ended";
  } else if (term_signal != 0) {
    result->term_signal = term_signal;
    result->message = absl::StrCat("was killed by ", SignalName(term_signal));
  } else {
    result->exit_code = exit_code;
    result->message = absl::StrCat("exited with status ", exit_code);
  }
  if (log_.valid()) {
    DrainPipe(log_.get(), log_limit_, &result->stderr_data, &result->stderr_truncated);
  }
}

bool PersistentInstance::ReadReplies() {
  char chunk[65536];
  while (true) {
    const ssize_t r = ::read(replies_.get(), chunk, sizeof(chunk));
    if (r > 0) {
      reply_buffer_.append(chunk, static_cast<size_t>(r));
      // Less than asked for: the pipe is empty now, no need for a read to
      // say so (an end of file shows at the next poll).
      if (static_cast<size_t>(r) < sizeof(chunk)) return true;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    return r < 0 && errno == EAGAIN;  // EOF or an error: the instance is gone
  }
}

void PersistentInstance::ReadRepliesToTheEnd() {
  const absl::Time until = absl::Now() + process_->output_lag();
  while (true) {
    const int64_t left_ms = std::max<int64_t>(absl::ToInt64Milliseconds(until - absl::Now()), 0);
    pollfd pfd{replies_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left_ms, 100)));
    if (ready < 0 && errno != EINTR) return;
    if (ready > 0 && !ReadReplies()) return;
    if (left_ms == 0) return;
  }
}

PersistentInstance::Wait PersistentInstance::AwaitReply(absl::Time deadline,
                                                        const RunControl* control,
                                                        std::string_view pending, std::string* body,
                                                        ExecResult* result) {
  size_t written = 0;
  absl::Time frozen_since;
  bool exited = false;
  while (true) {
    bool oversized = false;
    if (shim::TakeFrame(reply_buffer_, body, &oversized)) return Wait::kReply;
    if (oversized) return Wait::kMalformed;
    if (exited) return Wait::kExited;
    // The request pipe almost always has room: written at once, without a
    // poll to be told so.
    if (written == 0 && !pending.empty()) {
      const ssize_t w = ::write(requests_.get(), pending.data(), pending.size());
      if (w > 0) {
        written = static_cast<size_t>(w);
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        exited = true;  // it closed its request pipe: it is going
        continue;
      }
    }
    pollfd fds[4];
    int n = 0, request_idx = -1, reply_idx = -1, log_idx = -1, pid_idx = -1;
    if (written < pending.size()) {
      request_idx = n;
      fds[n++] = {requests_.get(), POLLOUT, 0};
    }
    reply_idx = n;
    fds[n++] = {replies_.get(), POLLIN, 0};
    if (log_.valid()) {
      log_idx = n;
      fds[n++] = {log_.get(), POLLIN, 0};
    }
    if (process_->exit_fd() >= 0) {
      pid_idx = n;
      fds[n++] = {process_->exit_fd(), POLLIN, 0};
    }
    // Wakes at least every 20 ms for cancel and pause (and to check on the
    // process without a pidfd); a reply wakes it at once.
    const absl::Duration left = deadline - absl::Now();
    const int wait_ms =
        frozen_ ? 20
                : static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(left) + 1, 0, 20));
    const int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (ready < 0 && errno != EINTR) return Wait::kExited;
    if (ready > 0) {
      if (request_idx >= 0 && fds[request_idx].revents != 0) {
        const ssize_t w =
            ::write(requests_.get(), pending.data() + written, pending.size() - written);
        if (w > 0) {
          written += static_cast<size_t>(w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          exited = true;  // it closed its request pipe: it is going
        }
      }
      if (log_idx >= 0 && fds[log_idx].revents != 0 &&
          !DrainPipe(log_.get(), log_limit_, &result->stderr_data, &result->stderr_truncated)) {
        log_.Close();
      }
      if (fds[reply_idx].revents != 0 && !ReadReplies()) exited = true;
      if (pid_idx >= 0 && (fds[pid_idx].revents & POLLIN)) exited = true;
    }
    if (process_->exit_fd() < 0 && process_->Exited()) exited = true;
    if (exited) {
      ReadRepliesToTheEnd();
      continue;  // takes a last complete frame, if any, first
    }
    if (control != nullptr) {
      if (const bool pause = control->paused.load(); pause != frozen_) {
        process_->Freeze(pause);
        const absl::Time now = absl::Now();
        if (pause) {
          frozen_since = now;
        } else {
          result->paused += now - frozen_since;
          deadline += now - frozen_since;
        }
        frozen_ = pause;
      }
      if (control->cancelled.load()) return Wait::kCancelled;
    }
    if (!frozen_ && absl::Now() >= deadline) return Wait::kTimeout;
  }
}

std::string PersistentInstance::RequestFrame(const ExecRequest& request, absl::Time deadline) {
  InstanceRequest call;
  call.invocation_id = request.invocation_id;
  call.payload = request.stdin_data;
  call.deadline_unix_ms = static_cast<uint64_t>(absl::ToUnixMillis(deadline));
  call.env = {absl::StrCat("FSCHED_INVOCATION_ID=", request.invocation_id),
              absl::StrCat("FSCHED_DEADLINE_MS=", call.deadline_unix_ms)};
  return shim::Frame(EncodeInstanceRequest(call));
}

// How a call's own reply becomes its result (both call paths).
void PersistentInstance::TakeReply(const ExecRequest& request, InstanceReply reply,
                                   ExecResult* result) {
  const absl::Duration own = absl::Nanoseconds(reply.duration_ns);
  if (reply.duration_ns > 0 && own < result->execution) result->execution = own;
  if (reply.kind == InstanceReplyKind::kOk) {
    result->outcome = v1::OUTCOME_OK;
    result->stdout_data = std::move(reply.output);
    if (result->stdout_data.size() > request.output_limit_bytes) {
      result->stdout_data.resize(request.output_limit_bytes);
      result->stdout_truncated = true;
    }
  } else {
    result->outcome = v1::OUTCOME_FUNCTION_ERROR;
    result->message = absl::StrCat("the handler failed: ", reply.error);
  }
}

ExecResult PersistentInstance::Call(const ExecRequest& request, const RunControl& control) {
  ExecResult result;
  // Logs written between calls (a background thread, say) belong to no call.
  if (log_.valid()) {
    std::string discarded;
    bool truncated = false;
    if (!DrainPipe(log_.get(), 0, &discarded, &truncated)) log_.Close();
  }
  result.started = absl::Now();
  const absl::Time deadline = result.started + request.timeout;
  const std::string frame = RequestFrame(request, deadline);
  const absl::Duration cpu_before = process_->CpuTime();

  std::string body;
  const Wait wait = AwaitReply(deadline, &control, frame, &body, &result);
  const absl::Time finished = absl::Now();
  if (frozen_) {  // cancelled or timed out while frozen: thawed, then killed
    process_->Freeze(false);
    frozen_ = false;
  }
  result.execution = finished - result.started - result.paused;
  if (wait == Wait::kReply) {
    const std::optional<InstanceReply> reply = DecodeInstanceReply(body);
    if (reply.has_value() && reply->invocation_id == request.invocation_id &&
        (reply->kind == InstanceReplyKind::kOk || reply->kind == InstanceReplyKind::kError)) {
      ++calls_;
      result.cpu_time = process_->CpuTime() - cpu_before;
      // What it printed before replying is already in the pipe.
      if (log_.valid() &&
          !DrainPipe(log_.get(), log_limit_, &result.stderr_data, &result.stderr_truncated)) {
        log_.Close();
      }
      TakeReply(request, std::move(*reply), &result);
      return result;
    }
    if (reply.has_value() && reply->kind == InstanceReplyKind::kExited) {
      ReapInto(&result, &*reply);
      result.message = absl::StrCat("the instance ", result.message, " during the call");
      return result;
    }
    Kill();
    result.outcome = v1::OUTCOME_NONZERO_EXIT;
    result.message = !reply.has_value() ? "the instance broke the protocol: a malformed reply frame"
                     : reply->invocation_id != request.invocation_id
                         ? absl::StrCat("the instance broke the protocol: it answered invocation '",
                                        reply->invocation_id, "'")
                         : absl::StrCat("the instance broke the protocol: it answered '",
                                        KindName(reply->kind), "' to a call");
    return result;
  }
  result.cpu_time = process_->CpuTime() - cpu_before;
  switch (wait) {
    case Wait::kExited:
      ReapInto(&result);
      result.message = absl::StrCat("the instance ", result.message, " during the call");
      break;
    case Wait::kTimeout:
      Kill();
      result.outcome = v1::OUTCOME_TIMEOUT;
      result.term_signal = SIGKILL;
      result.message =
          absl::StrCat("killed after the timeout of ", absl::FormatDuration(request.timeout));
      break;
    case Wait::kCancelled:
      Kill();
      result.outcome = v1::OUTCOME_CANCELLED;
      result.term_signal = SIGKILL;
      result.message = "cancelled while running";
      break;
    default:
      Kill();
      result.outcome = v1::OUTCOME_NONZERO_EXIT;
      result.message = "the instance sent a frame larger than the protocol allows";
      break;
  }
  return result;
}

ExecResult PersistentInstance::CallShared(const ExecRequest& request, const RunControl& control) {
  ExecResult result;
  result.started = absl::Now();
  const absl::Time deadline = result.started + request.timeout;
  const std::string frame = RequestFrame(request, deadline);
  const std::string& id = request.invocation_id;
  shared_mu_.Lock();
  if (!alive_) {
    shared_mu_.Unlock();
    result.outcome = v1::OUTCOME_NONZERO_EXIT;
    result.message = absl::StrCat("the instance ", death_.message, " before the call");
    return result;
  }
  awaited_[id];  // before the frame goes out: its reply may come at once
  shared_mu_.Unlock();
  WriteShared(frame, deadline, control);

  shared_mu_.Lock();
  std::optional<InstanceReply> reply;
  while (true) {
    auto mine = awaited_.find(id);
    if (mine->second.has_value()) {
      reply = std::move(mine->second);
      awaited_.erase(mine);
      break;
    }
    if (!alive_) {
      awaited_.erase(mine);
      result.outcome = v1::OUTCOME_NONZERO_EXIT;
      result.exit_code = death_.exit_code;
      result.term_signal = death_.term_signal;
      result.message = absl::StrCat("the instance ", death_.message, " during the call");
      break;
    }
    const bool cancelled = control.cancelled.load();
    if (cancelled || absl::Now() >= deadline) {
      awaited_.erase(mine);
      // One call cannot be stopped alone: the instance goes, with every call in it.
      DieLocked(cancelled ? "was killed: a call in it was cancelled"
                          : "was killed: a call in it ran past its timeout");
      result.outcome = cancelled ? v1::OUTCOME_CANCELLED : v1::OUTCOME_TIMEOUT;
      result.term_signal = SIGKILL;
      result.message = cancelled ? "cancelled while running"
                                 : absl::StrCat("killed after the timeout of ",
                                                absl::FormatDuration(request.timeout));
      break;
    }
    if (reading_) {
      replied_.WaitWithTimeout(&shared_mu_, absl::Milliseconds(20));
      continue;
    }
    // This caller reads for everyone until its own reply is in.
    reading_ = true;
    shared_mu_.Unlock();
    const bool ended = ReadShared(&result);
    shared_mu_.Lock();
    reading_ = false;
    DispatchLocked();
    if (ended && alive_) {
      int exit_code = 0, term_signal = 0;
      const bool known = process_->Reap(&exit_code, &term_signal);
      death_.exit_code = exit_code;
      death_.term_signal = term_signal;
      death_.message = !known             ? "ended"
                       : term_signal != 0 ? absl::StrCat("was killed by ", SignalName(term_signal))
                                          : absl::StrCat("exited with status ", exit_code);
      alive_ = false;
    }
    replied_.SignalAll();
  }
  shared_mu_.Unlock();
  result.execution = absl::Now() - result.started;
  if (reply.has_value()) {
    ++calls_;
    TakeReply(request, std::move(*reply), &result);
  }
  return result;
}

void PersistentInstance::WriteShared(std::string_view frame, absl::Time deadline,
                                     const RunControl& control) {
  absl::MutexLock lock(&write_mu_);
  while (!frame.empty()) {
    const ssize_t n = ::write(requests_.get(), frame.data(), frame.size());
    if (n > 0) {
      frame.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // A full pipe waits while the reader keeps replies flowing; a closed one,
    // or time up, leaves it to the wait for the reply to say why.
    if (n == 0 || errno != EAGAIN || !alive() || control.cancelled.load() ||
        absl::Now() >= deadline) {
      return;
    }
    pollfd pfd{requests_.get(), POLLOUT, 0};
    ::poll(&pfd, 1, 20);
  }
}

bool PersistentInstance::ReadShared(ExecResult* result) {
  pollfd fds[3];
  int n = 0;
  fds[n++] = {replies_.get(), POLLIN, 0};
  const int log_idx = log_.valid() ? n : -1;
  if (log_.valid()) fds[n++] = {log_.get(), POLLIN, 0};
  const int exit_idx = process_->exit_fd() >= 0 ? n : -1;
  if (exit_idx >= 0) fds[n++] = {process_->exit_fd(), POLLIN, 0};
  if (::poll(fds, static_cast<nfds_t>(n), 20) <= 0) {
    if (process_->exit_fd() >= 0 || !process_->Exited()) return false;
    ReadRepliesToTheEnd();
    return true;
  }
  bool ended = false;
  // With several calls at once the log is whose reader drained it: it may hold
  // lines of calls running beside this one.
  if (log_idx >= 0 && fds[log_idx].revents != 0 &&
      !DrainPipe(log_.get(), log_limit_, &result->stderr_data, &result->stderr_truncated)) {
    log_.Close();
  }
  if (fds[0].revents != 0 && !ReadReplies()) ended = true;
  if (exit_idx >= 0 && (fds[exit_idx].revents & POLLIN)) {
    ReadRepliesToTheEnd();
    ended = true;
  }
  return ended;
}

void PersistentInstance::DispatchLocked() {
  std::string body;
  bool oversized = false;
  while (alive_ && shim::TakeFrame(reply_buffer_, &body, &oversized)) {
    std::optional<InstanceReply> reply = DecodeInstanceReply(body);
    if (reply.has_value() && reply->kind == InstanceReplyKind::kExited) {
      process_->Kill();
      death_.exit_code = reply->exit_code;
      death_.term_signal = reply->term_signal;
      death_.message = reply->term_signal != 0
                           ? absl::StrCat("was killed by ", SignalName(reply->term_signal))
                           : absl::StrCat("exited with status ", reply->exit_code);
      alive_ = false;
      return;
    }
    auto waiting = reply.has_value() ? awaited_.find(reply->invocation_id) : awaited_.end();
    if (waiting == awaited_.end() || waiting->second.has_value() ||
        (reply->kind != InstanceReplyKind::kOk && reply->kind != InstanceReplyKind::kError)) {
      DieLocked("broke the protocol: a reply no call waits for");
      return;
    }
    waiting->second = std::move(reply);
  }
  if (oversized) DieLocked("sent a frame larger than the protocol allows");
}

void PersistentInstance::DieLocked(std::string why) {
  if (!alive_) return;
  process_->Kill();
  alive_ = false;
  death_.message = std::move(why);
}

}  // namespace fsched::worker
