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
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "worker/instance_protocol.h"
#include "worker/shim/frames.h"

namespace fsched::worker {
namespace {

// CPU time of every thread of `pid` (a process clock: nanoseconds, not ticks).
absl::Duration ProcessCpu(pid_t pid) {
  clockid_t clock;
  timespec ts{};
  if (pid <= 0 || ::clock_getcpuclockid(pid, &clock) != 0 || ::clock_gettime(clock, &ts) != 0) {
    return absl::ZeroDuration();
  }
  return absl::DurationFromTimespec(ts);
}

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
  }
  return "unknown";
}

}  // namespace

std::unique_ptr<PersistentInstance> PersistentInstance::Start(const Spec& spec,
                                                              const RunControl& control,
                                                              ExecResult* failure) {
  *failure = ExecResult();
  failure->mode = v1::EXECUTION_MODE_COLD;
  std::unique_ptr<PersistentInstance> instance(new PersistentInstance());
  instance->log_limit_ = spec.log_limit_bytes;
  Fd request_read, reply_write, log_write;
  Fd null_input(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!MakePipe(&request_read, &instance->requests_) ||
      !MakePipe(&instance->replies_, &reply_write) || !MakePipe(&instance->log_, &log_write) ||
      !null_input.valid()) {
    failure->outcome = v1::OUTCOME_START_FAILED;
    failure->message = absl::StrCat("cannot create the instance's pipes: ", std::strerror(errno));
    return nullptr;
  }
  const absl::Time spawn_start = absl::Now();
  const int stdio[3] = {null_input.get(), log_write.get(), log_write.get()};
  const int error = SpawnChild(spec.argv, spec.env, stdio, spec.working_dir, &instance->pid_,
                               spec.identity, {request_read.get(), reply_write.get()});
  request_read.Close();
  reply_write.Close();
  log_write.Close();
  if (error != 0) {
    instance->pid_ = -1;
    failure->outcome = v1::OUTCOME_START_FAILED;
    failure->message = absl::StrCat(
        "cannot start '", spec.argv.empty() ? "" : spec.argv[0], "': ", std::strerror(error),
        spec.working_dir.empty() ? "" : absl::StrCat(" (working_dir '", spec.working_dir, "')"));
    return nullptr;
  }
  instance->pidfd_.reset(OpenPidFd(instance->pid_));
  SetNonBlocking(instance->requests_.get());
  SetNonBlocking(instance->replies_.get());
  SetNonBlocking(instance->log_.get());

  std::string body;
  const Wait wait =
      instance->AwaitReply(spawn_start + spec.init_timeout, &control, "", &body, failure);
  failure->cold_start = absl::Now() - spawn_start;
  failure->started = spawn_start;
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
                                      absl::FormatDuration(spec.init_timeout));
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
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void PersistentInstance::ReapInto(ExecResult* result) {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid_, SIGKILL);  // what it started does not outlive it
  pid_ = -1;
  result->outcome = v1::OUTCOME_NONZERO_EXIT;
  if (WIFEXITED(status)) {
    result->exit_code = WEXITSTATUS(status);
    result->message = absl::StrCat("exited with status ", result->exit_code);
  } else if (WIFSIGNALED(status)) {
    result->term_signal = WTERMSIG(status);
    result->message = absl::StrCat("was killed by ", SignalName(result->term_signal));
  }
  if (log_.valid()) {
    DrainPipe(log_.get(), log_limit_, &result->stderr_data, &result->stderr_truncated);
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
    if (pidfd_.valid()) {
      pid_idx = n;
      fds[n++] = {pidfd_.get(), POLLIN, 0};
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
      if (fds[reply_idx].revents != 0) {
        char chunk[65536];
        while (true) {
          const ssize_t r = ::read(replies_.get(), chunk, sizeof(chunk));
          if (r > 0) {
            reply_buffer_.append(chunk, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EINTR)) exited = true;
          if (r < 0 && errno == EINTR) continue;
          break;
        }
      }
      if (pid_idx >= 0 && (fds[pid_idx].revents & POLLIN)) exited = true;
    }
    if (!pidfd_.valid()) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid_) {
        exited = true;
      }
    }
    if (exited) continue;  // takes a last complete frame, if any, first
    if (control != nullptr) {
      if (const bool pause = control->paused.load(); pause != frozen_) {
        ::kill(-pid_, pause ? SIGSTOP : SIGCONT);
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

ExecResult PersistentInstance::Call(const ExecRequest& request, const RunControl& control) {
  ExecResult result;
  // Logs written between calls (a background thread, say) belong to no call.
  if (log_.valid()) {
    std::string discarded;
    bool truncated = false;
    if (!DrainPipe(log_.get(), 0, &discarded, &truncated)) log_.Close();
  }
  InstanceRequest call;
  call.invocation_id = request.invocation_id;
  call.payload = request.stdin_data;
  result.started = absl::Now();
  const absl::Time deadline = result.started + request.timeout;
  call.deadline_unix_ms = static_cast<uint64_t>(absl::ToUnixMillis(deadline));
  call.env = {absl::StrCat("FSCHED_INVOCATION_ID=", request.invocation_id),
              absl::StrCat("FSCHED_DEADLINE_MS=", call.deadline_unix_ms)};
  const std::string frame = shim::Frame(EncodeInstanceRequest(call));
  const absl::Duration cpu_before = ProcessCpu(pid_);

  std::string body;
  const Wait wait = AwaitReply(deadline, &control, frame, &body, &result);
  const absl::Time finished = absl::Now();
  if (frozen_) {  // cancelled or timed out while frozen: thawed, then killed
    ::kill(-pid_, SIGCONT);
    frozen_ = false;
  }
  result.execution = finished - result.started - result.paused;
  if (wait == Wait::kReply) {
    const std::optional<InstanceReply> reply = DecodeInstanceReply(body);
    if (reply.has_value() && reply->invocation_id == request.invocation_id &&
        (reply->kind == InstanceReplyKind::kOk || reply->kind == InstanceReplyKind::kError)) {
      ++calls_;
      result.cpu_time = ProcessCpu(pid_) - cpu_before;
      // What it printed before replying is already in the pipe.
      if (log_.valid() &&
          !DrainPipe(log_.get(), log_limit_, &result.stderr_data, &result.stderr_truncated)) {
        log_.Close();
      }
      const absl::Duration own = absl::Nanoseconds(reply->duration_ns);
      if (reply->duration_ns > 0 && own < result.execution) result.execution = own;
      if (reply->kind == InstanceReplyKind::kOk) {
        result.outcome = v1::OUTCOME_OK;
        result.stdout_data = std::move(reply->output);
        if (result.stdout_data.size() > request.output_limit_bytes) {
          result.stdout_data.resize(request.output_limit_bytes);
          result.stdout_truncated = true;
        }
      } else {
        result.outcome = v1::OUTCOME_FUNCTION_ERROR;
        result.message = absl::StrCat("the handler failed: ", reply->error);
      }
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
  result.cpu_time = ProcessCpu(pid_) - cpu_before;
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

uint64_t PersistentInstance::ResidentBytes() const {
  if (pid_ <= 0) return 0;
  std::ifstream statm(absl::StrCat("/proc/", pid_, "/statm"));
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace fsched::worker
