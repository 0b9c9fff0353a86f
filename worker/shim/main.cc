// fsched-shim: PID 1 of a warm container. It announces itself, then serves
// one request at a time from stdin and answers on stdout, until stdin closes.
// With "--instance -- CMD..." it runs one persistent instance instead
// (worker/shim/instance.h).
// Linked statically so it runs in any root filesystem.
#include <grp.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "worker/shim/instance.h"
#include "worker/shim/protocol.h"
#include "worker/shim/serve.h"

namespace {

volatile sig_atomic_t g_cancel = 0;

void OnCancel(int) { g_cancel = 1; }

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// "--user=UID:GID": drops root before anything of the function runs.
bool DropToUser(const char* arg) {
  unsigned uid = 0, gid = 0;
  char end = 0;
  if (std::sscanf(arg + fsched::shim::kUserFlag.size(), "%u:%u%c", &uid, &gid, &end) != 2) {
    std::fprintf(stderr, "fsched-shim: bad flag '%s' (want %sUID:GID)\n", arg,
                 fsched::shim::kUserFlag.data());
    return false;
  }
  if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
    std::fprintf(stderr, "fsched-shim: cannot become %u:%u: %s\n", uid, gid, std::strerror(errno));
    return false;
  }
  return true;
}

// "--cpus=0,1,5": this process, and so all it starts, on those CPUs.
bool RunOnCpus(const char* arg) {
  const char* list = arg + fsched::shim::kCpusFlag.size();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const char* p = list;; ++p) {
    char* end = nullptr;
    errno = 0;
    const unsigned long cpu = std::strtoul(p, &end, 10);
    if (end == p || *p == '-' || errno != 0 || cpu >= CPU_SETSIZE ||
        (*end != ',' && *end != '\0')) {
      std::fprintf(stderr, "fsched-shim: bad flag '%s' (want %s0,1,5)\n", arg,
                   fsched::shim::kCpusFlag.data());
      return false;
    }
    CPU_SET(cpu, &set);
    if (*end == '\0') break;
    p = end;
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::fprintf(stderr, "fsched-shim: cannot run on CPUs %s: %s\n", list, std::strerror(errno));
    return false;
  }
  return true;
}

bool RunUnderBatch() {
  const sched_param param{};
  if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
    std::fprintf(stderr, "fsched-shim: cannot switch to SCHED_BATCH: %s\n", std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fsched::shim;
  char** instance = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with(kUserFlag)) {
      if (!DropToUser(argv[i])) return 1;
    } else if (std::string_view(argv[i]).starts_with(kCpusFlag)) {
      if (!RunOnCpus(argv[i])) return 1;
    } else if (std::string_view(argv[i]) == kSchedBatchFlag) {
      if (!RunUnderBatch()) return 1;
    } else if (std::string_view(argv[i]) == kInstanceFlag && i + 2 < argc &&
               std::string_view(argv[i + 1]) == "--") {
      instance = argv + i + 2;
      break;
    } else {
      std::fprintf(stderr, "fsched-shim: unknown argument '%s'\n", argv[i]);
      return 1;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  if (instance != nullptr) return RunInstance(instance);
  struct sigaction cancel_action {};
  cancel_action.sa_handler = OnCancel;  // no SA_RESTART: a cancel interrupts poll at once
  sigemptyset(&cancel_action.sa_mask);
  sigaction(SIGUSR1, &cancel_action, nullptr);

  Reply ready;
  ready.kind = ReplyKind::kReady;
  ready.pid = static_cast<int32_t>(getpid());
  if (!WriteAll(1, Frame(EncodeReply(ready)))) return 1;

  std::string buffer, body;
  char chunk[65536];
  while (true) {
    bool oversized = false;
    while (TakeFrame(buffer, &body, &oversized)) {
      Reply reply;
      if (std::optional<Request> request = DecodeRequest(body)) {
        g_cancel = 0;
        reply = Serve(*request, g_cancel);
      } else {
        reply.kind = ReplyKind::kStartFailed;
        reply.message = "fsched-shim: malformed request (worker and shim versions differ?)";
      }
      if (!WriteAll(1, Frame(EncodeReply(reply)))) return 1;
    }
    if (oversized) return 2;  // the stream cannot be resynchronised
    const ssize_t n = read(0, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // the worker closed the channel: the instance is done
    buffer.append(chunk, static_cast<size_t>(n));
  }
}
