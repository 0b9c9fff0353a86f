#include "worker/container.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "worker/child_process.h"
#include "worker/oci_spec.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

constexpr char kPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string SignalText(int sig) {
  const char* name = sigabbrev_np(sig);
  return name != nullptr ? absl::StrCat("SIG", name) : absl::StrCat("signal ", sig);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Container::Container(const ContainerOptions& options, std::string id, std::string bundle)
    : options_(options), id_(std::move(id)), bundle_(std::move(bundle)) {}

Container::~Container() { Destroy(); }

absl::StatusOr<std::unique_ptr<Container>> Container::Create(const ContainerOptions& options,
                                                             const v1::FunctionSpec& function,
                                                             const std::string& rootfs,
                                                             const std::string& id) {
  std::error_code ec;
  if (!fs::path(rootfs).is_absolute() || !fs::is_directory(rootfs, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "root filesystem '", rootfs, "' of function ", function.name(),
        " is not a directory on this worker (rootfs_path must be an absolute directory)"));
  }
  const std::string bundle = absl::StrCat(options.bundles_dir, "/", id);
  std::unique_ptr<Container> c(new Container(options, id, bundle));
  fs::create_directories(bundle, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create bundle ", bundle, ": ", ec.message()));
  }
  ContainerSpec spec;
  spec.rootfs = rootfs;
  spec.argv = {kShimMountPoint};
  spec.env.insert(function.env().begin(), function.env().end());
  spec.network = function.network();
  spec.memory_bytes = function.limits().memory_bytes();
  spec.cpu_cores = function.limits().cpu_cores();
  spec.cgroups_path = absl::StrCat("/", options.cgroup_parent, "/", id);
  spec.uid = options.uid;
  spec.gid = options.gid;
  spec.binds.push_back({options.shim_path, kShimMountPoint, true});
  c->cgroup_ = spec.cgroups_path;
  c->memory_limit_ = spec.memory_bytes;
  {
    std::ofstream config(bundle + "/config.json");
    config << OciConfigJson(spec);
    if (!config) return absl::InternalError(absl::StrCat("cannot write ", bundle, "/config.json"));
  }

  // The shim's stdin and stdout are pipes to this worker; its stderr (and
  // runc's own complaints) go to a log in the bundle.
  Fd request_read, request_write, reply_read, reply_write;
  if (!MakePipe(&request_read, &request_write) || !MakePipe(&reply_read, &reply_write)) {
    return absl::InternalError(absl::StrCat("cannot create pipes: ", std::strerror(errno)));
  }
  Fd log(::open((bundle + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) {
    return absl::InternalError(
        absl::StrCat("cannot open ", bundle, "/stderr.log: ", std::strerror(errno)));
  }
  const std::vector<std::string> args = {
      options.runc, "--root",     options.runc_root,    "create", "--bundle",
      bundle,       "--pid-file", bundle + "/init.pid", id};
  const int stdio[3] = {request_read.get(), reply_write.get(), log.get()};
  pid_t pid = -1;
  const int spawn_error = SpawnChild(args, {kPath}, stdio, "", &pid);
  request_read.Close();
  reply_write.Close();
  log.Close();
  if (spawn_error != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", options.runc, ": ", std::strerror(spawn_error)));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("runc create ", id, " failed: ", c->LogTail()));
  }
  std::ifstream pid_file(bundle + "/init.pid");
  pid_file >> c->init_pid_;
  if (c->init_pid_ <= 0) {
    return absl::InternalError(absl::StrCat("runc create ", id, " wrote no init pid"));
  }
  c->requests_ = std::move(request_write);
  c->replies_ = std::move(reply_read);
  return c;
}

absl::Status Container::Runc(std::initializer_list<std::string> args,
                             absl::Duration timeout) const {
  ChildSpec spec;
  spec.argv = {options_.runc, "--root", options_.runc_root};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = {kPath};
  spec.timeout = timeout;
  spec.output_limit_bytes = 16 * 1024;
  RunControl control;
  const ExecResult r = RunChild(spec, control);
  if (r.outcome == v1::OUTCOME_OK) return absl::OkStatus();
  const absl::string_view said = absl::StripAsciiWhitespace(r.stderr_data);
  return absl::InternalError(absl::StrCat("runc ", absl::StrJoin(args, " "), ": ",
                                          said.empty() ? absl::string_view(r.message) : said));
}

Container::ReadResult Container::ReadReply(shim::Reply* reply, absl::Time deadline) {
  while (true) {
    std::string body;
    bool oversized = false;
    if (shim::TakeFrame(reply_buffer_, &body, &oversized)) {
      std::optional<shim::Reply> decoded = shim::DecodeReply(body);
      if (!decoded) return ReadResult::kBroken;
      *reply = std::move(*decoded);
      return ReadResult::kReply;
    }
    if (oversized) return ReadResult::kBroken;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return ReadResult::kTimeout;
    pollfd pfd{replies_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno != EINTR) return ReadResult::kBroken;
    if (ready <= 0) continue;
    char buf[65536];
    const ssize_t n = ::read(replies_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ReadResult::kBroken;  // EOF: the shim is gone
    reply_buffer_.append(buf, static_cast<size_t>(n));
  }
}

absl::Status Container::Start() {
  if (absl::Status s = Runc({"start", id_}, options_.start_timeout); !s.ok()) return s;
  shim::Reply ready;
  if (ReadReply(&ready, absl::Now() + options_.start_timeout) != ReadResult::kReply ||
      ready.kind != shim::ReplyKind::kReady) {
    return absl::InternalError(absl::StrCat(
        "container ", id_, " started but its fsched-shim did not report ready: ", LogTail()));
  }
  started_ = true;
  return absl::OkStatus();
}

Container::CallResult Container::Call(const ExecRequest& request, const RunControl& control) {
  CallResult out;
  ExecResult& r = out.result;
  shim::Request call;
  call.argv = request.argv;
  call.env = ContainerEnv(request.env);
  call.cwd = request.working_dir;
  call.stdin_data = request.stdin_data;
  call.output_limit_bytes = request.output_limit_bytes;
  uint64_t oom_before = 0;
  if (memory_limit_ > 0 && options_.cgroups != nullptr) {
    oom_before = options_.cgroups->OomKills(cgroup_).value_or(0);
  }

  r.started = absl::Now();
  const auto crashed = [&](absl::string_view what) {
    out.crashed = true;
    r.outcome = v1::OUTCOME_NONZERO_EXIT;
    r.message = absl::StrCat("the container's fsched-shim ", what,
                             " during the call; the instance was removed (", LogTail(), ")");
    return out;
  };
  if (!WriteAll(requests_.get(), shim::Frame(shim::EncodeRequest(call)))) {
    return crashed("was gone");
  }
  absl::Time deadline = r.started + request.timeout;
  bool frozen = false, timed_out = false, signalled = false;
  absl::Time frozen_since, signalled_at;
  shim::Reply reply;
  while (true) {
    // Woken at least every 20 ms to follow cancel, freeze and the deadline.
    const ReadResult read = ReadReply(&reply, absl::Now() + absl::Milliseconds(20));
    if (read == ReadResult::kReply) break;
    if (read == ReadResult::kBroken) return crashed("died");
    const absl::Time now = absl::Now();
    if (const bool pause = control.paused.load(); pause != frozen && !signalled) {
      if (absl::Status s = Runc({pause ? "pause" : "resume", id_}, absl::Seconds(10)); s.ok()) {
        frozen = pause;
        if (pause) {
          frozen_since = now;
        } else {
          r.paused += now - frozen_since;
          deadline += now - frozen_since;
        }
      } else {
        FSCHED_LOG(kWarning, "%s", s.message());
      }
    }
    if (!signalled && (control.cancelled.load() || (!frozen && now >= deadline))) {
      timed_out = !control.cancelled.load();
      if (frozen) {
        (void)Runc({"resume", id_}, absl::Seconds(10));
        r.paused += now - frozen_since;
        frozen = false;
      }
      ::kill(init_pid_, SIGUSR1);  // the shim kills the call's process group
      signalled = true;
      signalled_at = now;
    }
    if (signalled && now - signalled_at > options_.cancel_grace) return crashed("did not answer");
  }
  if (frozen) {
    (void)Runc({"resume", id_}, absl::Seconds(10));
    r.paused += absl::Now() - frozen_since;
  }
  r.execution = absl::Nanoseconds(static_cast<int64_t>(reply.execution_ns));
  r.cpu_time = absl::Nanoseconds(static_cast<int64_t>(reply.cpu_ns));
  r.stdout_data = std::move(reply.stdout_data);
  r.stderr_data = std::move(reply.stderr_data);
  r.stdout_truncated = reply.stdout_truncated;
  r.stderr_truncated = reply.stderr_truncated;
  switch (reply.kind) {
    case shim::ReplyKind::kExited:
      r.exit_code = reply.exit_code;
      r.outcome = r.exit_code == 0 ? v1::OUTCOME_OK : v1::OUTCOME_NONZERO_EXIT;
      if (r.exit_code != 0) r.message = absl::StrCat("exited with status ", r.exit_code);
      break;
    case shim::ReplyKind::kSignaled: {
      r.term_signal = reply.term_signal;
      r.outcome = v1::OUTCOME_NONZERO_EXIT;
      r.message = absl::StrCat("killed by ", SignalText(r.term_signal));
      if (r.term_signal == SIGKILL && memory_limit_ > 0 && options_.cgroups != nullptr &&
          options_.cgroups->OomKills(cgroup_).value_or(0) > oom_before) {
        r.outcome = v1::OUTCOME_OOM_KILLED;
        r.message = absl::StrCat("killed by the kernel's OOM killer at the memory limit of ",
                                 memory_limit_ >> 20, " MiB");
      }
      break;
    }
    case shim::ReplyKind::kCancelled:
      r.term_signal = SIGKILL;
      r.outcome = timed_out ? v1::OUTCOME_TIMEOUT : v1::OUTCOME_CANCELLED;
      r.message = timed_out ? absl::StrCat("killed after the timeout of ",
                                           absl::FormatDuration(request.timeout))
                            : "cancelled while running";
      break;
    case shim::ReplyKind::kStartFailed:
      r.exit_code = reply.exit_code;
      r.outcome = v1::OUTCOME_START_FAILED;
      r.message = reply.message;
      break;
    case shim::ReplyKind::kReady:
      return crashed("answered out of turn");
  }
  return out;
}

void Container::Destroy() {
  if (destroyed_) return;
  destroyed_ = true;
  requests_.Close();  // the shim reads EOF and exits
  replies_.Close();
  if (absl::Status s = Runc({"delete", "--force", id_}, absl::Seconds(30)); !s.ok()) {
    // Never created (runc create failed early) is not worth a warning.
    if (s.message().find("does not exist") == absl::string_view::npos) {
      FSCHED_LOG(kWarning, "container %s: %s", id_, s.message());
    }
  }
  if (options_.cgroups != nullptr) options_.cgroups->RemoveIfEmpty(cgroup_);
  std::error_code ec;
  fs::remove_all(bundle_, ec);
}

std::string Container::LogTail() const {
  std::ifstream in(bundle_ + "/stderr.log");
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > 600) text = text.substr(text.size() - 600);
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  return trimmed.empty() ? std::string("no log output") : std::string(trimmed);
}

}  // namespace fsched::worker
