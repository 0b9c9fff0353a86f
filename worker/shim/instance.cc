#include "worker/shim/instance.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "worker/instance_protocol.h"
#include "worker/shim/frames.h"
#include "worker/shim/serve.h"

extern char** environ;

namespace fsched::shim {

int RunInstance(char** argv) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  const std::string path = ResolveCommand(argv[0], env);
  const pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "fsched-shim: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid == 0) {
    // Onto 3 and 4 first (nothing above 2 is open), so /dev/null lands above them.
    int null = -1;
    if (dup2(0, worker::kInstanceRequestFd) < 0 || dup2(1, worker::kInstanceReplyFd) < 0 ||
        (null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || dup2(null, 0) < 0 ||
        dup2(2, 1) < 0) {
      std::fprintf(stderr, "fsched-shim: cannot set up the instance's fds: %s\n",
                   std::strerror(errno));
      _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execve(path.c_str(), argv, environ);
    std::fprintf(stderr, "fsched-shim: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(0);  // only the instance reads requests
  int status = 0;
  while (true) {
    int s = 0;
    const pid_t reaped = waitpid(-1, &s, 0);
    if (reaped == pid) {
      status = s;
      break;
    }
    if (reaped < 0 && errno != EINTR) return 1;
  }
  worker::InstanceReply exited;
  exited.kind = worker::InstanceReplyKind::kExited;
  if (WIFSIGNALED(status)) {
    exited.term_signal = WTERMSIG(status);
  } else {
    exited.exit_code = WEXITSTATUS(status);
  }
  const std::string frame = Frame(worker::EncodeInstanceReply(exited));
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = write(1, frame.data() + done, frame.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the worker is gone or stopped reading: nothing to tell
    done += static_cast<size_t>(n);
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace fsched::shim
