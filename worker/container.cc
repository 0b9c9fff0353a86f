#include "worker/container.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include "common/function_call.h"
#include "common/log.h"
#include "worker/child_process.h"
#include "worker/oci_spec.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

constexpr char kNoLog[] = "no log output";

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

// A persistent function's instance as the worker controls it: the
// container's init (the shim) runs it, and the container's freezer, cgroup
// and init's death stand for the process's.
class ContainerInit final : public PersistentInstance::Process {
 public:
  ContainerInit(const Container& container, const Cgroups* cgroups)
      : container_(container), cgroups_(cgroups), pidfd_(OpenPidFd(container.init_pid())) {}
  pid_t pid() const override { return container_.init_pid(); }
  int exit_fd() const override { return pidfd_.get(); }
  bool Exited() const override { return ::kill(pid(), 0) != 0 && errno == ESRCH; }
  void Freeze(bool frozen) override { container_.Freeze(frozen); }
  void Kill() override {
    // The init's death ends its PID namespace; removing the container is the
    // runtime's, later and off the call's path.
    if (killed_) return;
    killed_ = true;
    if (pidfd_.valid()) {
      ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    } else {
      ::kill(pid(), SIGKILL);
    }
  }
  bool Reap(int*, int*) override {
    Kill();
    return false;  // not our child: only its exited frame says how it ended
  }
  absl::Duration CpuTime() const override {
    if (cgroups_ == nullptr) return absl::ZeroDuration();
    return absl::Nanoseconds(cgroups_->CpuUsageNs(container_.cgroup()).value_or(0));
  }
  uint64_t ResidentBytes() const override {
    if (cgroups_ == nullptr) return 0;
    return cgroups_->MemoryUsage(container_.cgroup()).value_or(0);
  }
  // containerd relays a container's stdout (ctr and its shim copy it through
  // FIFOs): the init's death can be seen before the exited frame that says
  // how it ended has come through. ctr ends, closing the pipe, soon after.
  absl::Duration output_lag() const override { return absl::Seconds(2); }

 private:
  const Container& container_;
  const Cgroups* const cgroups_;
  Fd pidfd_;
  bool killed_ = false;
};

Container::Container(const ContainerOptions& options, std::string id, std::string bundle)
    : options_(options) {
  instance_.id = std::move(id);
  instance_.bundle = std::move(bundle);
}

Container::~Container() { Destroy(); }

absl::StatusOr<std::unique_ptr<Container>> Container::Create(const ContainerOptions& options,
                                                             const v1::FunctionSpec& function,
                                                             const std::string& root,
                                                             const std::string& id) {
  const bool image = options.engine->uses_images();
  std::error_code ec;
  if (!image && (!fs::path(root).is_absolute() || !fs::is_directory(root, ec))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "root filesystem '", root, "' of function ", function.name(),
        " is not a directory on this worker (rootfs_path must be an absolute directory)"));
  }
  const std::string bundle = absl::StrCat(options.bundles_dir, "/", id);
  std::unique_ptr<Container> c(new Container(options, id, bundle));
  fs::create_directories(bundle, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create bundle ", bundle, ": ", ec.message()));
  }
  ContainerSpec spec;
  if (image) {
    c->instance_.image = root;
  } else {
    spec.rootfs = root;
  }
  spec.argv = {kShimMountPoint};
  if (!options.cpus.empty()) {
    spec.argv.push_back(std::string(shim::kCpusFlag) + absl::StrJoin(options.cpus, ","));
  }
  if (options.sched_batch) spec.argv.push_back(std::string(shim::kSchedBatchFlag));
  spec.env.insert(function.env().begin(), function.env().end());
  const bool persistent = IsPersistent(function);
  if (persistent) {
    absl::StatusOr<std::vector<std::string>> command =
        InstanceCommand(function, kRuntimesMountPoint);
    if (!command.ok()) return command.status();
    spec.argv.insert(spec.argv.end(), {std::string(shim::kInstanceFlag), "--"});
    spec.argv.insert(spec.argv.end(), command->begin(), command->end());
    spec.env["FSCHED_FUNCTION"] = function.name();
    if (!function.handler().empty()) spec.env["FSCHED_HANDLER"] = function.handler();
    if (function.warm().concurrency() > 1) {
      spec.env["FSCHED_CONCURRENCY"] = absl::StrCat(function.warm().concurrency());
    }
    if (!function.working_dir().empty()) spec.cwd = function.working_dir();
    if (!function.language().empty()) {
      if (options.runtimes_dir.empty()) {
        return absl::FailedPreconditionError(
            "this worker has no language runtimes directory (worker.runtimes_dir)");
      }
      spec.binds.push_back({options.runtimes_dir, kRuntimesMountPoint, true});
    }
  }
  spec.network = function.network();
  spec.memory_bytes = function.limits().memory_bytes();
  spec.cpu_cores = function.limits().cpu_cores();
  spec.cgroups_path = options.engine->Cgroup(id);
  spec.uid = options.uid;
  spec.gid = options.gid;
  spec.binds.push_back({options.shim_path, kShimMountPoint, true});
  c->cgroup_ = spec.cgroups_path;
  c->memory_limit_ = spec.memory_bytes;

  // The shim's stdin and stdout are pipes to this worker; its stderr (and
  // the engine's own complaints) go to a log in the bundle, or for a
  // persistent instance to a pipe: its log is collected per call.
  Fd request_read, reply_write;
  if (!MakePipe(&request_read, &c->requests_) || !MakePipe(&c->replies_, &reply_write)) {
    return absl::InternalError(absl::StrCat("cannot create pipes: ", std::strerror(errno)));
  }
  Fd log;
  if (persistent) {
    if (!MakePipe(&c->log_, &log)) {
      return absl::InternalError(absl::StrCat("cannot create pipes: ", std::strerror(errno)));
    }
    SetNonBlocking(c->log_.get());
  } else {
    log.reset(
        ::open((bundle + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  }
  if (!log.valid()) {
    return absl::InternalError(
        absl::StrCat("cannot open ", bundle, "/stderr.log: ", std::strerror(errno)));
  }
  c->child_stdio_[0] = std::move(request_read);
  c->child_stdio_[1] = std::move(reply_write);
  c->child_stdio_[2] = std::move(log);
  const int stdio[3] = {c->child_stdio_[0].get(), c->child_stdio_[1].get(),
                        c->child_stdio_[2].get()};
  if (absl::Status s = options.engine->Create(spec, c->instance_, stdio); !s.ok()) {
    if (s.code() == absl::StatusCode::kFailedPrecondition) return s;
    const std::string log = c->LogTail();
    return absl::InternalError(log == kNoLog ? std::string(s.message())
                                             : absl::StrCat(s.message(), ": ", log));
  }
  if (c->instance_.init_pid > 0) {
    // The init holds its own copies now; ours would hide its death from us.
    for (Fd& fd : c->child_stdio_) fd.Close();
  }
  return c;
}

bool Container::Freeze(bool frozen) const {
  absl::Status s = options_.engine->Freeze(instance_, frozen);
  if (!s.ok()) FSCHED_LOG(kWarning, "%s", s.message());
  return s.ok();
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
  const int stdio[3] = {child_stdio_[0].get(), child_stdio_[1].get(), child_stdio_[2].get()};
  absl::Status started = options_.engine->Start(instance_, stdio);
  for (Fd& fd : child_stdio_) fd.Close();
  if (!started.ok()) {
    return absl::InternalError(absl::StrCat("cannot start container ", instance_.id, ": ",
                                            started.message(), " (", LogTail(), ")"));
  }
  if (log_.valid()) {  // persistent: the instance, not the shim, says ready
    started_ = true;
    return absl::OkStatus();
  }
  shim::Reply ready;
  if (ReadReply(&ready, absl::Now() + options_.start_timeout) != ReadResult::kReply ||
      ready.kind != shim::ReplyKind::kReady) {
    return absl::InternalError(
        absl::StrCat("container ", instance_.id,
                     " started but its fsched-shim did not report ready: ", LogTail()));
  }
  started_ = true;
  return absl::OkStatus();
}

bool Container::StartInstance(absl::Duration init_timeout, uint64_t log_limit_bytes,
                              const RunControl& control, ExecResult* failure) {
  const absl::Time begin = absl::Now();
  if (!started_) {
    if (absl::Status s = Start(); !s.ok()) {
      *failure = ExecResult();
      failure->outcome = v1::OUTCOME_START_FAILED;
      failure->message = std::string(s.message());
      return false;
    }
  }
  PersistentInstance::Channel channel;
  channel.requests = std::move(requests_);
  channel.replies = std::move(replies_);
  channel.log = std::move(log_);
  instance_process_ = PersistentInstance::Attach(
      std::make_unique<ContainerInit>(*this, options_.cgroups), std::move(channel), begin,
      init_timeout, log_limit_bytes, control, failure);
  if (instance_process_ != nullptr) return true;
  if (failure->outcome == v1::OUTCOME_INIT_FAILED && memory_limit_ > 0 &&
      options_.cgroups != nullptr && options_.cgroups->OomKills(cgroup_).value_or(0) > 0) {
    failure->outcome = v1::OUTCOME_OOM_KILLED;
    failure->message = absl::StrCat("killed by the kernel's OOM killer at the memory limit of ",
                                    memory_limit_ >> 20, " MiB while it initialised");
  }
  return false;
}

Container::CallResult Container::Call(const ExecRequest& request, const RunControl& control) {
  CallResult out;
  ExecResult& r = out.result;
  served_ = true;
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
      if (Freeze(pause)) {
        frozen = pause;
        if (pause) {
          frozen_since = now;
        } else {
          r.paused += now - frozen_since;
          deadline += now - frozen_since;
        }
      }
    }
    if (!signalled && (control.cancelled.load() || (!frozen && now >= deadline))) {
      timed_out = !control.cancelled.load();
      if (frozen) {
        Freeze(false);
        r.paused += now - frozen_since;
        frozen = false;
      }
      ::kill(instance_.init_pid, SIGUSR1);  // the shim kills the call's process group
      signalled = true;
      signalled_at = now;
    }
    if (signalled && now - signalled_at > options_.cancel_grace) return crashed("did not answer");
  }
  if (frozen) {
    Freeze(false);
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
  instance_process_.reset();  // killed: a persistent instance reads no EOF in time
  requests_.Close();          // the shim reads EOF and exits
  replies_.Close();
  for (Fd& fd : child_stdio_) fd.Close();
  options_.engine->Remove(instance_);
  if (options_.cgroups != nullptr) options_.cgroups->RemoveIfEmpty(cgroup_);
  std::error_code ec;
  fs::remove_all(instance_.bundle, ec);
}

std::string Container::LogTail() const {
  std::string text;
  if (log_.valid()) {  // persistent: what the engine and the shim wrote so far
    bool truncated = false;
    DrainPipe(log_.get(), 64 * 1024, &log_text_, &truncated);
    text = log_text_;
  } else {
    std::ifstream in(instance_.bundle + "/stderr.log");
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  if (text.size() > 600) text = text.substr(text.size() - 600);
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  return trimmed.empty() ? std::string(kNoLog) : std::string(trimmed);
}

}  // namespace fsched::worker
