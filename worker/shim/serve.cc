#include "worker/shim/serve.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fsched::shim {
namespace {

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t TimevalNs(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000000000u + static_cast<uint64_t>(tv.tv_usec) * 1000u;
}

}  // namespace

std::string ResolveCommand(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  for (const std::string& var : env) {
    if (var.rfind("PATH=", 0) == 0) path = var.substr(5);
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    // An empty PATH entry means the current directory.
    std::string candidate = end > start ? path.substr(start, end - start) : std::string(1, '.');
    candidate.push_back('/');
    candidate.append(name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;  // execve reports ENOENT with the name the user gave
}

namespace {

struct Capture {
  int fd = -1;
  std::string* data;
  bool* truncated;
};

// Reads what is available; false at EOF or a read error.
bool Drain(Capture& c, uint64_t limit) {
  char buf[65536];
  while (true) {
    const ssize_t n = read(c.fd, buf, sizeof(buf));
    if (n > 0) {
      const size_t room = c.data->size() < limit ? limit - c.data->size() : 0;
      const size_t keep = static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room;
      c.data->append(buf, keep);
      if (keep < static_cast<size_t>(n)) *c.truncated = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

Reply StartFailed(std::string message) {
  Reply r;
  r.kind = ReplyKind::kStartFailed;
  r.exit_code = 127;
  r.message = std::move(message);
  return r;
}

}  // namespace

Reply Serve(const Request& request, const volatile sig_atomic_t& cancel) {
  const std::string path = ResolveCommand(request.argv[0], request.env);
  std::vector<char*> argv, envp;
  for (const std::string& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : request.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* cwd = request.cwd.empty() ? "/" : request.cwd.c_str();

  int in[2], out[2], err[2], status[2];
  if (pipe2(in, O_CLOEXEC) != 0) return StartFailed(std::string("pipe: ") + strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(status, O_CLOEXEC) != 0) {
    return StartFailed(std::string("pipe: ") + strerror(errno));  // the shim exits soon anyway
  }
  const uint64_t started = NowNs();
  const pid_t pid = fork();
  if (pid < 0) return StartFailed(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    int failure[2] = {0, 0};  // {stage: 0 chdir, 1 exec; errno}
    if (chdir(cwd) != 0) {
      failure[1] = errno;
    } else {
      execve(path.c_str(), argv.data(), envp.data());
      failure[0] = 1;
      failure[1] = errno;
    }
    // Tell the shim why (the pipe closes on a successful exec instead).
    [[maybe_unused]] ssize_t ignored = write(status[1], failure, sizeof(failure));
    _exit(127);
  }
  setpgid(pid, pid);  // both sides, so the group exists before anyone signals it
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(status[1]);
  int failure[2] = {0, 0};
  ssize_t got;
  do {
    got = read(status[0], failure, sizeof(failure));
  } while (got < 0 && errno == EINTR);
  close(status[0]);
  if (got == static_cast<ssize_t>(sizeof(failure))) {
    waitpid(pid, nullptr, 0);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    std::string message = failure[0] == 0 ? "cannot enter working directory " : "cannot run ";
    message.append(failure[0] == 0 ? cwd : request.argv[0].c_str());
    message.append(": ");
    message.append(strerror(failure[1]));
    return StartFailed(std::move(message));
  }

  Reply reply;
  int stdin_fd = in[1];
  size_t stdin_written = 0;
  if (request.stdin_data.empty()) CloseFd(stdin_fd);
  Capture outputs[2] = {{out[0], &reply.stdout_data, &reply.stdout_truncated},
                        {err[0], &reply.stderr_data, &reply.stderr_truncated}};
  for (int fd : {stdin_fd, out[0], err[0]}) {
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  // A pidfd wakes poll the moment the child exits; without one (old kernels) poll ticks.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  bool exited = false, killed = false, cancelled = false;
  int wait_status = 0;
  rusage usage{};
  uint64_t finished = 0;
  while (true) {
    if (cancel != 0 && !killed) {
      kill(-pid, SIGKILL);
      killed = cancelled = true;
    }
    if (!exited) {
      const pid_t r = wait4(pid, &wait_status, WNOHANG, &usage);
      if (r == pid) {
        exited = true;
        finished = NowNs();
        kill(-pid, SIGKILL);  // what it left running in its group does not outlive the call
        CloseFd(stdin_fd);
        CloseFd(pidfd);
      }
    }
    if (exited && outputs[0].fd < 0 && outputs[1].fd < 0) break;
    pollfd fds[4];
    int n = 0;
    if (stdin_fd >= 0) fds[n++] = {stdin_fd, POLLOUT, 0};
    for (Capture& c : outputs) {
      if (c.fd >= 0) fds[n++] = {c.fd, POLLIN, 0};
    }
    if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
    // After the exit, output still open belongs to a process that left the
    // group (setsid): give it a moment, then stop waiting for it.
    const int timeout_ms = exited ? 100 : (pidfd >= 0 ? 1000 : 5);
    const int ready = poll(fds, static_cast<nfds_t>(n), timeout_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready == 0 && exited) break;
    if (ready <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == stdin_fd) {
        const ssize_t w = write(stdin_fd, request.stdin_data.data() + stdin_written,
                                request.stdin_data.size() - stdin_written);
        if (w > 0) stdin_written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
            stdin_written == request.stdin_data.size()) {
          CloseFd(stdin_fd);  // EPIPE: the function stopped reading, which is its right
        }
      }
      for (Capture& c : outputs) {
        if (fds[i].fd == c.fd && !Drain(c, request.output_limit_bytes)) CloseFd(c.fd);
      }
    }
  }
  for (Capture& c : outputs) CloseFd(c.fd);
  CloseFd(stdin_fd);
  CloseFd(pidfd);
  if (!exited) {
    kill(-pid, SIGKILL);
    wait4(pid, &wait_status, 0, &usage);
    finished = NowNs();
  }
  // As PID 1 of the container the shim inherits every orphan: reap them.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  reply.execution_ns = finished - started;
  reply.cpu_ns = TimevalNs(usage.ru_utime) + TimevalNs(usage.ru_stime);
  reply.max_rss_kb = static_cast<uint64_t>(usage.ru_maxrss);
  if (cancelled) {
    reply.kind = ReplyKind::kCancelled;
  } else if (WIFSIGNALED(wait_status)) {
    reply.kind = ReplyKind::kSignaled;
    reply.term_signal = WTERMSIG(wait_status);
  } else {
    reply.kind = ReplyKind::kExited;
    reply.exit_code = WEXITSTATUS(wait_status);
  }
  return reply;
}

}  // namespace fsched::shim
