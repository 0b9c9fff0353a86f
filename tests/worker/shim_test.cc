// The warm-container protocol and the real fsched-shim binary, driven over
// pipes on the host (no container needed: the shim is a plain program).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "worker/cpu_affinity.h"
#include "worker/fd.h"
#include "worker/shim/protocol.h"

namespace fsched::shim {
namespace {

using worker::Fd;

TEST(ShimProtocolTest, RequestsAndRepliesRoundTrip) {
  Request request;
  request.argv = {"sh", "-c", std::string("echo \0binary", 13)};
  request.env = {"A=1", "PATH=/bin"};
  request.cwd = "/tmp";
  request.stdin_data = std::string(100000, 'x');
  request.output_limit_bytes = 12345;
  const std::optional<Request> back = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->argv, request.argv);
  EXPECT_EQ(back->env, request.env);
  EXPECT_EQ(back->cwd, "/tmp");
  EXPECT_EQ(back->stdin_data, request.stdin_data);
  EXPECT_EQ(back->output_limit_bytes, 12345u);

  Reply reply;
  reply.kind = ReplyKind::kSignaled;
  reply.exit_code = -1;
  reply.term_signal = 9;
  reply.stdout_data = "out";
  reply.stderr_truncated = true;
  reply.execution_ns = 1234567890123;
  reply.cpu_ns = 42;
  reply.message = "why";
  const std::optional<Reply> r = DecodeReply(EncodeReply(reply));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, ReplyKind::kSignaled);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->term_signal, 9);
  EXPECT_EQ(r->stdout_data, "out");
  EXPECT_FALSE(r->stdout_truncated);
  EXPECT_TRUE(r->stderr_truncated);
  EXPECT_EQ(r->execution_ns, 1234567890123u);
  EXPECT_EQ(r->cpu_ns, 42u);
  EXPECT_EQ(r->message, "why");
}

TEST(ShimProtocolTest, FramesSplitAndRefuseGarbage) {
  const std::string a = Frame("first"), b = Frame("second");
  std::string buffer = a + b.substr(0, 3);
  std::string body;
  bool oversized = false;
  ASSERT_TRUE(TakeFrame(buffer, &body, &oversized));
  EXPECT_EQ(body, "first");
  EXPECT_FALSE(TakeFrame(buffer, &body, &oversized));  // half a frame: wait for more
  EXPECT_FALSE(oversized);
  buffer += b.substr(3);
  ASSERT_TRUE(TakeFrame(buffer, &body, &oversized));
  EXPECT_EQ(body, "second");
  EXPECT_TRUE(buffer.empty());

  std::string huge = "\xff\xff\xff\x7f";
  EXPECT_FALSE(TakeFrame(huge, &body, &oversized));
  EXPECT_TRUE(oversized);

  EXPECT_FALSE(DecodeRequest("").has_value());  // no argv
  EXPECT_FALSE(DecodeRequest(std::string("\x01\x09\x00\x00\x00"
                                         "ab",
                                         7))
                   .has_value());             // truncated
  EXPECT_FALSE(DecodeReply("").has_value());  // no kind
  Reply bad;
  std::string encoded = EncodeReply(bad);
  encoded[5] = 9;  // kind 9 does not exist
  EXPECT_FALSE(DecodeReply(encoded).has_value());
}

// The shim as the worker sees it: a child with a request pipe and a reply pipe.
class Shim {
 public:
  explicit Shim(std::vector<std::string> flags = {}) {
    Fd req_read, reply_write;
    worker::MakePipe(&req_read, &requests_);
    worker::MakePipe(&replies_, &reply_write);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, req_read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, reply_write.get(), 1);
    std::vector<char*> argv = {const_cast<char*>(FSCHED_SHIM_BIN)};
    for (std::string& flag : flags) argv.push_back(flag.data());
    argv.push_back(nullptr);
    char* envp[] = {nullptr};
    EXPECT_EQ(posix_spawn(&pid_, FSCHED_SHIM_BIN, &actions, nullptr, argv.data(), envp), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Shim() {
    requests_.Close();
    int status = 0;
    waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the shim exits cleanly at EOF";
  }
  void Send(const Request& request) {
    const std::string frame = Frame(EncodeRequest(request));
    ASSERT_EQ(write(requests_.get(), frame.data(), frame.size()),
              static_cast<ssize_t>(frame.size()));
  }
  std::optional<Reply> Receive() {
    std::string body;
    bool oversized = false;
    while (!TakeFrame(buffer_, &body, &oversized)) {
      pollfd pfd{replies_.get(), POLLIN, 0};
      if (poll(&pfd, 1, 10000) <= 0) return std::nullopt;
      char chunk[65536];
      const ssize_t n = read(replies_.get(), chunk, sizeof(chunk));
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return DecodeReply(body);
  }
  Reply Call(const Request& request) {
    Send(request);
    std::optional<Reply> reply = Receive();
    EXPECT_TRUE(reply.has_value());
    return reply.value_or(Reply{});
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  Fd requests_, replies_;
  std::string buffer_;
};

Request Sh(const std::string& script) {
  Request r;
  r.argv = {"/bin/sh", "-c", script};
  r.env = {"PATH=/usr/bin:/bin"};
  return r;
}

TEST(ShimTest, AnnouncesItselfThenServesCallsInTurn) {
  Shim shim;
  const std::optional<Reply> ready = shim.Receive();
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->kind, ReplyKind::kReady);
  EXPECT_EQ(ready->pid, shim.pid());

  Request echo = Sh("cat; echo err >&2; pwd");
  echo.stdin_data = "payload\n";
  echo.cwd = "/tmp";
  Reply r = shim.Call(echo);
  EXPECT_EQ(r.kind, ReplyKind::kExited);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, "payload\n/tmp\n");
  EXPECT_EQ(r.stderr_data, "err\n");
  EXPECT_GT(r.execution_ns, 0u);

  r = shim.Call(Sh("exit 3"));
  EXPECT_EQ(r.kind, ReplyKind::kExited);
  EXPECT_EQ(r.exit_code, 3);

  r = shim.Call(Sh("kill -SEGV $$"));
  EXPECT_EQ(r.kind, ReplyKind::kSignaled);
  EXPECT_EQ(r.term_signal, SIGSEGV);

  Request missing;
  missing.argv = {"no-such-command-fsched"};
  missing.env = {"PATH=/bin"};
  r = shim.Call(missing);
  EXPECT_EQ(r.kind, ReplyKind::kStartFailed);
  EXPECT_NE(r.message.find("cannot run no-such-command-fsched"), std::string::npos) << r.message;

  Request nowhere = Sh("true");
  nowhere.cwd = "/no/such/dir";
  r = shim.Call(nowhere);
  EXPECT_EQ(r.kind, ReplyKind::kStartFailed);
  EXPECT_NE(r.message.find("working directory /no/such/dir"), std::string::npos) << r.message;

  // Output past the limit is dropped (and drained, so the function finishes).
  Request loud = Sh("yes | head -c 1000000");
  loud.output_limit_bytes = 1000;
  r = shim.Call(loud);
  EXPECT_EQ(r.kind, ReplyKind::kExited);
  EXPECT_EQ(r.stdout_data.size(), 1000u);
  EXPECT_TRUE(r.stdout_truncated);

  // A large payload the function never reads does not wedge the shim.
  Request deaf = Sh("echo done");
  deaf.stdin_data = std::string(4 << 20, 'z');
  r = shim.Call(deaf);
  EXPECT_EQ(r.stdout_data, "done\n");
}

TEST(ShimTest, CancelKillsTheWholeCallAndKeepsServing) {
  Shim shim;
  ASSERT_TRUE(shim.Receive().has_value());
  const auto begin = std::chrono::steady_clock::now();
  shim.Send(Sh("sleep 30 & sleep 30; echo never"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(shim.pid(), SIGUSR1);
  const std::optional<Reply> r = shim.Receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, ReplyKind::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  // A background child that kept the output open was killed with its group.
  EXPECT_EQ(shim.Call(Sh("echo next")).stdout_data, "next\n");
}

TEST(ShimTest, ReportsAMalformedRequestAndStaysUp) {
  Shim shim;
  ASSERT_TRUE(shim.Receive().has_value());
  Request empty;  // no argv
  const Reply r = shim.Call(empty);
  EXPECT_EQ(r.kind, ReplyKind::kStartFailed);
  EXPECT_NE(r.message.find("malformed"), std::string::npos);
  EXPECT_EQ(shim.Call(Sh("echo fine")).stdout_data, "fine\n");
}

// The worker's worker.cpus and worker.cpu_policy, given to the shim because a
// container's processes do not reliably inherit them: the shim's calls run
// there although this test process runs anywhere under SCHED_OTHER.
TEST(ShimTest, RunsItsCallsOnTheCpusAndUnderThePolicyItIsGiven) {
  absl::StatusOr<std::vector<int>> allowed = worker::AllowedCpus();
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  const int target = allowed->back();  // the last CPU this test may use
  Shim shim({std::string(kCpusFlag) + std::to_string(target), std::string(kSchedBatchFlag)});
  ASSERT_TRUE(shim.Receive().has_value());
  // Field 41 of /proc/PID/stat is the policy: 3 is SCHED_BATCH.
  const Reply r =
      shim.Call(Sh("grep Cpus_allowed_list /proc/self/status; "
                   "cut -d' ' -f41 /proc/self/stat"));
  EXPECT_EQ(r.kind, ReplyKind::kExited) << r.message;
  EXPECT_EQ(r.stdout_data, "Cpus_allowed_list:\t" + std::to_string(target) + "\n3\n")
      << r.stderr_data;
}

// A flag the shim cannot apply ends it with the reason, before it serves.
TEST(ShimTest, RefusesCpusItCannotRunOn) {
  const struct {
    std::string cpus;
    std::string said;
  } cases[] = {{"x", "bad flag '--cpus=x'"},         {"", "bad flag '--cpus='"},
               {"0,", "bad flag '--cpus=0,'"},       {",0", "bad flag '--cpus=,0'"},
               {"0-1", "bad flag '--cpus=0-1'"},     {"-1", "bad flag '--cpus=-1'"},
               {"99999", "bad flag '--cpus=99999'"}, {"1023", "cannot run on CPUs 1023: "}};
  for (const auto& [cpus, expected] : cases) {
    const std::string log = ::testing::TempDir() + "shim-flags-" + std::to_string(getpid());
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string flag = std::string(kCpusFlag) + cpus;
    char* argv[] = {const_cast<char*>(FSCHED_SHIM_BIN), flag.data(), nullptr};
    char* envp[] = {nullptr};
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, FSCHED_SHIM_BIN, &actions, nullptr, argv, envp), 0);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << flag;
    std::ifstream in(log);
    const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(said.find("fsched-shim: " + expected), std::string::npos) << said;
    std::remove(log.c_str());
  }
}

}  // namespace
}  // namespace fsched::shim
