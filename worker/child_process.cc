#include "worker/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "worker/cpu_slice.h"
#include "worker/fd.h"

namespace fsched::worker {
namespace {

// What the cloned child reads: prepared by the parent, so the child (which
// shares the parent's memory until it execs) allocates nothing and writes
// nothing but its error report.
struct CloneArgs {
  char* const* argv;
  char* const* envp;
  const int* stdio;  // the child's fds 0..nfds-1
  int nfds;
  const char* working_dir;  // null = the worker's
  const ChildIdentity* identity;
  int report_fd;  // write end of a close-on-exec pipe: errno of the failed step
};

// The child runs on a stack of its own that the sanitizers do not know:
// instrumenting these two (ASan's no-return handling rewinds the "current"
// stack) would crash the child before it reports. They only make syscalls.
#define FSCHED_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

[[noreturn]] FSCHED_CHILD_CODE void ChildFailed(int report_fd) {
  const int error = errno;
  (void)!::write(report_fd, &error, sizeof(error));
  ::_exit(127);
}

// Runs in the child, before exec: only async-signal-safe calls.
FSCHED_CHILD_CODE int CloneChild(void* raw) {
  const CloneArgs* a = static_cast<const CloneArgs*>(raw);
  // Caught signals revert to their default; ignored ones the worker set
  // (SIGPIPE) would otherwise survive exec.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction action;
    if (::sigaction(sig, nullptr, &action) != 0) continue;
    if (action.sa_handler != SIG_DFL) {
      action.sa_handler = SIG_DFL;
      action.sa_flags = 0;
      ::sigaction(sig, &action, nullptr);
    }
  }
  if (::setpgid(0, 0) != 0) ChildFailed(a->report_fd);
  for (int fd = 0; fd < a->nfds; ++fd) {
    if (a->stdio[fd] == fd) {
      ::fcntl(fd, F_SETFD, 0);  // keep it across exec
    } else if (::dup2(a->stdio[fd], fd) < 0) {
      ChildFailed(a->report_fd);
    }
  }
  if (a->working_dir != nullptr && ::chdir(a->working_dir) != 0) ChildFailed(a->report_fd);
  for (const auto& [resource, value] : a->identity->rlimits) {
    const struct rlimit limit = {value, value};
    if (::setrlimit(resource, &limit) != 0) ChildFailed(a->report_fd);
  }
  if (!a->identity->join_fds.empty()) {
    // Its own pid rather than "0": the kernel takes either as this process,
    // and a fake tree (tests) learns which process joined.
    char digits[24];
    char* const end = digits + sizeof(digits);
    char* first = end - 1;
    *first = '\n';
    for (long v = ::syscall(SYS_getpid); first == end - 1 || v > 0; v /= 10) {
      *--first = static_cast<char>('0' + v % 10);
    }
    for (const int fd : a->identity->join_fds) {
      if (::write(fd, first, end - first) != end - first) ChildFailed(a->report_fd);
    }
  }
  // Best effort: a kernel without per-task slices only loses the hint.
  if (a->identity->cpu_slice_ns > 0) SetThreadCpuSlice(0, a->identity->cpu_slice_ns);
  if (a->identity->uid.has_value()) {
    const gid_t gid = a->identity->gid;
    const uid_t uid = *a->identity->uid;
    // Raw system calls: glibc's wrappers apply a credential change to every
    // thread of the process (a signal to each, then a wait for all), and this
    // child shares the worker's memory and so its list of threads, which are
    // not its own: the wrapper would wait on them (or on a lock one of them
    // holds) for ever.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, gid, gid, gid) != 0 ||
        ::syscall(SYS_setresuid, uid, uid, uid) != 0) {
      ChildFailed(a->report_fd);
    }
  }
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  ::sigprocmask(SIG_SETMASK, &empty_mask, nullptr);
  ::execvpe(a->argv[0], a->argv, a->envp);
  ChildFailed(a->report_fd);
}

// clone(CLONE_VM | CLONE_VFORK) on a stack of its own, the way glibc's
// posix_spawn works: no copy of the worker's memory, and this thread waits
// only until the child has exec'd (or failed). All signals stay blocked in
// this thread meanwhile, so no handler of the worker runs in the child.
int CloneSpawn(const CloneArgs& base, pid_t* pid) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errno;
  CloneArgs args = base;
  args.report_fd = report[1];
  constexpr size_t kStack = 256 * 1024;
  void* stack = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    const int error = errno;
    ::close(report[0]);
    ::close(report[1]);
    return error;
  }
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t child = ::clone(CloneChild, static_cast<char*>(stack) + kStack,
                              CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  const int clone_error = child < 0 ? errno : 0;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::munmap(stack, kStack);
  ::close(report[1]);
  int child_error = 0;
  if (child > 0) {
    ssize_t n;
    do {
      n = ::read(report[0], &child_error, sizeof(child_error));
    } while (n < 0 && errno == EINTR);
    if (n == sizeof(child_error)) {
      ::waitpid(child, nullptr, 0);  // it exited 127 after reporting
    } else {
      child_error = 0;  // EOF: the exec closed the pipe
    }
  }
  ::close(report[0]);
  if (clone_error != 0) return clone_error;
  if (child_error != 0) return child_error;
  *pid = child;
  return 0;
}

}  // namespace

bool DrainPipe(int fd, uint64_t limit, std::string* out, bool* truncated) {
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      const uint64_t room = limit > out->size() ? limit - out->size() : 0;
      const size_t keep = static_cast<size_t>(std::min<uint64_t>(room, static_cast<uint64_t>(n)));
      out->append(buf, keep);
      if (keep < static_cast<size_t>(n)) *truncated = true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

int OpenPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  return -1;
#endif
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? absl::StrCat("SIG", abbrev) : absl::StrCat("signal ", sig);
}

int SpawnChild(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const int stdio[3], const std::string& working_dir, pid_t* pid,
               const ChildIdentity& identity, const std::vector<int>& inherit) {
  // The child's fds in order. A source below their count that is not
  // already in its place is moved above it first, so installing one never
  // overwrites another that is still to come.
  std::vector<int> fds(stdio, stdio + 3);
  fds.insert(fds.end(), inherit.begin(), inherit.end());
  const int nfds = static_cast<int>(fds.size());
  std::vector<Fd> moved;
  for (int i = 0; i < nfds; ++i) {
    if (fds[i] < nfds && fds[i] != i) {
      moved.emplace_back(::fcntl(fds[i], F_DUPFD_CLOEXEC, nfds));
      if (!moved.back().valid()) return errno;
      fds[i] = moved.back().get();
    }
  }
  std::vector<std::string> env_strings = env;
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = argv;
  std::vector<char*> args;
  for (std::string& s : argv_strings) args.push_back(s.data());
  args.push_back(nullptr);

  if (!identity.empty()) {
    CloneArgs clone_args{args.data(),
                         envp.data(),
                         fds.data(),
                         nfds,
                         working_dir.empty() ? nullptr : working_dir.c_str(),
                         &identity,
                         -1};
    return CloneSpawn(clone_args, pid);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd < nfds; ++fd) posix_spawn_file_actions_adddup2(&actions, fds[fd], fd);
  if (!working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group (so a timeout kills the function's children too, and a
  // Ctrl-C at the worker's terminal does not reach them), and the worker's
  // blocked/ignored signals must not leak into the child.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t empty_mask, default_signals;
  sigemptyset(&empty_mask);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  sigemptyset(&default_signals);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&default_signals, sig);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  // posix_spawnp resolves argv[0] through the worker's own PATH.
  const int error = posix_spawnp(pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return error;
}

ExecResult RunChild(const ChildSpec& spec, const RunControl& control, const ChildHooks& hooks) {
  ExecResult result;
  result.mode = v1::EXECUTION_MODE_COLD;
  Fd stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write;
  if (!MakePipe(&stdin_read, &stdin_write) || !MakePipe(&stdout_read, &stdout_write) ||
      !MakePipe(&stderr_read, &stderr_write)) {
    result.outcome = v1::OUTCOME_START_FAILED;
    result.message = absl::StrCat("cannot create pipes: ", std::strerror(errno));
    return result;
  }

  const absl::Time spawn_start = absl::Now();
  pid_t pid = -1;
  const int stdio[3] = {stdin_read.get(), stdout_write.get(), stderr_write.get()};
  const int spawn_error =
      SpawnChild(spec.argv, spec.env, stdio, spec.working_dir, &pid, spec.identity);
  result.started = absl::Now();
  result.cold_start = result.started - spawn_start;
  stdin_read.Close();
  stdout_write.Close();
  stderr_write.Close();
  if (spawn_error != 0) {
    result.outcome = v1::OUTCOME_START_FAILED;
    result.message = absl::StrCat(
        "cannot start '", spec.argv[0], "': ", std::strerror(spawn_error),
        spec.working_dir.empty() ? "" : absl::StrCat(" (working_dir '", spec.working_dir, "')"));
    return result;
  }
  if (hooks.started) hooks.started(pid);

  SetNonBlocking(stdin_write.get());
  SetNonBlocking(stdout_read.get());
  SetNonBlocking(stderr_read.get());
  Fd pidfd(OpenPidFd(pid));

  const auto kill = [&] {
    if (hooks.kill) hooks.kill(pid);
    ::kill(-pid, SIGKILL);
  };
  absl::Time deadline = result.started + spec.timeout;
  // Preemption freezes the whole process group (SIGSTOP) and thaws it (SIGCONT);
  // frozen time moves the deadline, so a paused function does not time out.
  bool frozen = false;
  absl::Time frozen_since;
  size_t written = 0;
  if (spec.stdin_data.empty()) stdin_write.Close();
  bool exited = false, timed_out = false, was_cancelled = false;
  while (!exited) {
    pollfd fds[4];
    int n = 0;
    int stdin_idx = -1, out_idx = -1, err_idx = -1, pid_idx = -1;
    if (stdin_write.get() >= 0) {
      stdin_idx = n;
      fds[n++] = {stdin_write.get(), POLLOUT, 0};
    }
    if (stdout_read.get() >= 0) {
      out_idx = n;
      fds[n++] = {stdout_read.get(), POLLIN, 0};
    }
    if (stderr_read.get() >= 0) {
      err_idx = n;
      fds[n++] = {stderr_read.get(), POLLIN, 0};
    }
    if (pidfd.get() >= 0) {
      pid_idx = n;
      fds[n++] = {pidfd.get(), POLLIN, 0};
    }
    // Wake at least every 20 ms to honour cancellation (and to poll waitpid without a pidfd).
    const absl::Duration left = deadline - absl::Now();
    const int wait_ms =
        static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(left) + 1, 0, 20));
    const int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      if (stdin_idx >= 0 && (fds[stdin_idx].revents & (POLLOUT | POLLERR | POLLHUP))) {
        const ssize_t w = ::write(stdin_write.get(), spec.stdin_data.data() + written,
                                  spec.stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE: the function does not read its input; that is its choice.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == spec.stdin_data.size()) {
          stdin_write.Close();
        }
      }
      if (out_idx >= 0 && fds[out_idx].revents &&
          !DrainPipe(stdout_read.get(), spec.output_limit_bytes, &result.stdout_data,
                     &result.stdout_truncated)) {
        stdout_read.Close();
      }
      if (err_idx >= 0 && fds[err_idx].revents &&
          !DrainPipe(stderr_read.get(), spec.output_limit_bytes, &result.stderr_data,
                     &result.stderr_truncated)) {
        stderr_read.Close();
      }
      if (pid_idx >= 0 && (fds[pid_idx].revents & POLLIN)) exited = true;
    }
    if (pidfd.get() < 0 || (stdout_read.get() < 0 && stderr_read.get() < 0)) {
      siginfo_t info{};
      if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
      }
    }
    if (exited) break;
    if (const bool pause = control.paused.load(); pause != frozen) {
      if (hooks.freeze) {
        hooks.freeze(pid, pause);
      } else {
        ::kill(-pid, pause ? SIGSTOP : SIGCONT);
      }
      const absl::Time now = absl::Now();
      if (pause) {
        frozen_since = now;
      } else {
        result.paused += now - frozen_since;
        deadline += now - frozen_since;
      }
      frozen = pause;
    }
    if (!frozen && absl::Now() >= deadline) {
      timed_out = true;
      kill();
      break;
    }
    if (control.cancelled.load()) {
      was_cancelled = true;
      kill();
      break;
    }
  }

  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  const absl::Time finished = absl::Now();
  // Output the function wrote just before it ended is still in the pipes.
  if (stdout_read.get() >= 0) {
    DrainPipe(stdout_read.get(), spec.output_limit_bytes, &result.stdout_data,
              &result.stdout_truncated);
  }
  if (stderr_read.get() >= 0) {
    DrainPipe(stderr_read.get(), spec.output_limit_bytes, &result.stderr_data,
              &result.stderr_truncated);
  }
  // Background children of the function do not outlive its invocation.
  ::kill(-pid, SIGKILL);

  if (frozen) result.paused += finished - frozen_since;  // cancelled while frozen
  result.execution = finished - result.started - result.paused;
  result.cpu_time =
      absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
  if (timed_out) {
    result.outcome = v1::OUTCOME_TIMEOUT;
    result.term_signal = SIGKILL;
    result.message =
        absl::StrCat("killed after the timeout of ", absl::FormatDuration(spec.timeout));
  } else if (was_cancelled) {
    result.outcome = v1::OUTCOME_CANCELLED;
    result.term_signal = SIGKILL;
    result.message = "cancelled while running";
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    result.outcome = result.exit_code == 0 ? v1::OUTCOME_OK : v1::OUTCOME_NONZERO_EXIT;
    if (result.exit_code != 0)
      result.message = absl::StrCat("exited with status ", result.exit_code);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
    result.outcome = v1::OUTCOME_NONZERO_EXIT;
    result.message = absl::StrCat("killed by ", SignalName(result.term_signal));
  }
  return result;
}

absl::StatusOr<std::string> RunTool(const std::vector<std::string>& argv, absl::Duration timeout) {
  ChildSpec spec;
  spec.argv = argv;
  spec.env = {kToolPath};
  spec.timeout = timeout;
  spec.output_limit_bytes = 1024 * 1024;
  RunControl control;
  ExecResult r = RunChild(spec, control);
  if (r.outcome == v1::OUTCOME_OK) return std::move(r.stdout_data);
  const absl::string_view said = absl::StripAsciiWhitespace(r.stderr_data);
  return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), ": ",
                                          said.empty() ? absl::string_view(r.message) : said));
}

}  // namespace fsched::worker
