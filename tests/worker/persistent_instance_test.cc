// Persistent instances through the process runtime, with the real Python
// and Node.js runtimes of runtimes/: state kept between warm calls, an
// import once per instance, and every way an instance can fail (init
// failure and timeout, a handler's error, a crash, a timeout, a cancel, a
// protocol violation, recycling), each reported as such with no process
// left behind.
#include "worker/persistent_instance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "worker/cpu_slice.h"
#include "worker/fd.h"
#include "worker/instance_protocol.h"
#include "worker/process_runtime.h"
#include "worker/shim/frames.h"

namespace fsched::worker {
namespace {

using ::testing::HasSubstr;

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

TEST(InstanceProtocolTest, RequestsAndRepliesRoundTripAndGarbageIsRefused) {
  InstanceRequest request{"inv-1", std::string("pay\0load", 8), 1234, {"A=b"}};
  const std::optional<InstanceRequest> back = DecodeInstanceRequest(EncodeInstanceRequest(request));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->invocation_id, "inv-1");
  EXPECT_EQ(back->payload, std::string("pay\0load", 8));
  EXPECT_EQ(back->deadline_unix_ms, 1234u);
  EXPECT_THAT(back->env, ::testing::ElementsAre("A=b"));
  InstanceReply reply{InstanceReplyKind::kError, "inv-1", "out", "ValueError: x", 99};
  const std::optional<InstanceReply> r = DecodeInstanceReply(EncodeInstanceReply(reply));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, InstanceReplyKind::kError);
  EXPECT_EQ(r->output, "out");
  EXPECT_EQ(r->error, "ValueError: x");
  EXPECT_EQ(r->duration_ns, 99u);
  EXPECT_FALSE(DecodeInstanceReply("hello").has_value());  // a truncated field
  std::string unknown_kind;
  shim::AppendU64Field(unknown_kind, 1, 7);
  EXPECT_FALSE(DecodeInstanceReply(unknown_kind).has_value());
  EXPECT_FALSE(DecodeInstanceReply("").has_value());  // no kind
  // The shim's word that an instance in a container ended, and how.
  InstanceReply exited;
  exited.kind = InstanceReplyKind::kExited;
  exited.term_signal = SIGKILL;
  const std::optional<InstanceReply> e = DecodeInstanceReply(EncodeInstanceReply(exited));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, InstanceReplyKind::kExited);
  EXPECT_EQ(e->term_signal, SIGKILL);
  EXPECT_EQ(e->exit_code, 0);
}

class PersistentInstanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }  // as the worker does

  void SetUp() override {
    code_ = absl::StrCat(::testing::TempDir(), "/persistent-", ::getpid(), "-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(code_);
    std::filesystem::create_directories(code_);
    runtime_.set_runtimes_dir(absl::StrCat(FSCHED_SOURCE_DIR, "/runtimes"));
  }
  void TearDown() override { std::filesystem::remove_all(code_); }

  void WriteCode(const std::string& file, const std::string& text) {
    std::ofstream(absl::StrCat(code_, "/", file)) << text;
  }

  v1::FunctionSpec Python(const std::string& handler) {
    v1::FunctionSpec spec;
    spec.set_name("py");
    spec.set_language("python");
    spec.set_handler(handler);
    spec.set_working_dir(code_);
    return spec;
  }

  ExecResult Call(const v1::FunctionSpec& spec, const std::string& payload = "",
                  absl::Duration timeout = absl::Seconds(20), pid_t* pid = nullptr) {
    ExecRequest request;
    request.invocation_id = absl::StrCat("inv-", ++calls_);
    request.function = spec;
    request.stdin_data = payload;
    request.timeout = timeout;
    if (pid != nullptr) request.on_start = [pid](pid_t p) { *pid = p; };
    return runtime_.Run(request, never_);
  }

  // The instances of the runtime are gone (destroyed in the background).
  void ExpectNoInstances() {
    runtime_.WaitIdle();
    EXPECT_EQ(runtime_.live_instances(), 0u);
  }

  std::string code_;
  ProcessRuntime runtime_;
  RunControl never_;
  int calls_ = 0;
};

constexpr char kCounter[] = R"(import os, time
with open(os.path.join(os.getcwd(), "imports.log"), "a") as log:
    log.write("imported\n")
time.sleep(0.2)  # an expensive import
count = 0

def handle(payload, context):
    global count
    count += 1
    print("call", count, context.invocation_id)
    return "%d:%s" % (count, payload.decode())

def fail(payload):
    raise ValueError("bad input " + payload.decode())

def crash(payload):
    os._exit(3)

def slow(payload):
    time.sleep(30)

def grow(payload):
    global hoard
    hoard = bytearray(64 << 20)
    hoard[::4096] = b"x" * len(hoard[::4096])
    return b"grown"
)";

TEST_F(PersistentInstanceTest, PythonKeepsStateBetweenWarmCallsAndImportsOnce) {
  WriteCode("counter.py", kCounter);
  const v1::FunctionSpec spec = Python("counter:handle");
  for (int i = 1; i <= 4; ++i) {
    const ExecResult r = Call(spec, "p");
    ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
    EXPECT_EQ(r.stdout_data, absl::StrCat(i, ":p"));
    EXPECT_THAT(r.stderr_data, HasSubstr(absl::StrCat("call ", i, " inv-")));
    if (i == 1) {
      EXPECT_EQ(r.mode, v1::EXECUTION_MODE_COLD);
      EXPECT_GE(r.init, absl::Milliseconds(200));  // the import's sleep
      EXPECT_GE(r.cold_start, r.init);
    } else {
      EXPECT_EQ(r.mode, v1::EXECUTION_MODE_WARM);
      EXPECT_EQ(r.init, absl::ZeroDuration());
      EXPECT_EQ(r.cold_start, absl::ZeroDuration());
    }
  }
  std::ifstream imports(code_ + "/imports.log");
  std::string all((std::istreambuf_iterator<char>(imports)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "imported\n");
  EXPECT_EQ(runtime_.live_instances(), 1u);
  const auto warm = runtime_.WarmSet();
  ASSERT_EQ(warm.size(), 1u);
  EXPECT_EQ(warm[0].mode(), v1::EXECUTION_MODE_WARM);
  runtime_.Evict("py");
  ExpectNoInstances();
}

// A warm instance already runs: each call gives every one of its threads the
// call's slice (ALPS), and a thread the handler starts inherits it.
TEST_F(PersistentInstanceTest, EachCallGivesTheRunningInstanceItsCpuSlice) {
  if (!KernelTakesCpuSlices()) GTEST_SKIP() << "this kernel takes no per-task slice";
  if (!std::filesystem::exists("/proc/self/sched")) GTEST_SKIP() << "no /proc/<pid>/sched";
  WriteCode("slice.py", R"(import threading

def slice_of(path):
    for line in open(path):
        if line.startswith("se.slice "):
            return line.split()[-1]

def handle(payload):
    seen = []
    t = threading.Thread(target=lambda: seen.append(slice_of("/proc/thread-self/sched")))
    t.start()
    t.join()
    return slice_of("/proc/self/sched") + " " + seen[0]
)");
  const v1::FunctionSpec spec = Python("slice:handle");
  for (const int ms : {9, 4}) {
    ExecRequest request;
    request.invocation_id = absl::StrCat("inv-", ++calls_);
    request.function = spec;
    request.timeout = absl::Seconds(20);
    request.cpu_slice = absl::Milliseconds(ms);
    const ExecResult r = runtime_.Run(request, never_);
    ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
    EXPECT_EQ(r.stdout_data, absl::StrCat(ms * 1000000, " ", ms * 1000000));
  }
  EXPECT_EQ(runtime_.live_instances(), 1u) << "both calls on one instance";
  runtime_.Evict("py");
  ExpectNoInstances();
}

TEST_F(PersistentInstanceTest, AnInitFailureIsItsOwnOutcomeWithTheRuntimesTraceback) {
  WriteCode("broken.py", "import no_such_module\n");
  const ExecResult r = Call(Python("broken:handle"));
  EXPECT_EQ(r.outcome, v1::OUTCOME_INIT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("No module named 'no_such_module'"));
  EXPECT_THAT(r.stderr_data, HasSubstr("Traceback"));
  ExpectNoInstances();
  // A handler that is not there fails the same way.
  WriteCode("empty.py", "x = 1\n");
  EXPECT_EQ(Call(Python("empty:handle")).outcome, v1::OUTCOME_INIT_FAILED);
  ExpectNoInstances();
}

TEST_F(PersistentInstanceTest, AHandlersErrorIsReportedAndTheInstanceServesOn) {
  WriteCode("counter.py", kCounter);
  const v1::FunctionSpec spec = Python("counter:fail");
  ExecResult r = Call(spec, "42");
  EXPECT_EQ(r.outcome, v1::OUTCOME_FUNCTION_ERROR);
  EXPECT_THAT(r.message, HasSubstr("ValueError: bad input 42"));
  EXPECT_THAT(r.stderr_data, HasSubstr("Traceback"));
  r = Call(spec, "43");
  EXPECT_EQ(r.outcome, v1::OUTCOME_FUNCTION_ERROR);
  EXPECT_EQ(r.mode, v1::EXECUTION_MODE_WARM);
}

TEST_F(PersistentInstanceTest, ACrashMidCallIsReportedAndTheNextCallGetsAFreshInstance) {
  WriteCode("counter.py", kCounter);
  pid_t first = 0;
  ASSERT_EQ(Call(Python("counter:handle"), "a", absl::Seconds(20), &first).outcome, v1::OUTCOME_OK);
  const ExecResult r = Call(Python("counter:crash"));
  EXPECT_EQ(r.outcome, v1::OUTCOME_NONZERO_EXIT);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.message, HasSubstr("exited with status 3 during the call"));
  // Gone: the crashed one, and counter:handle's (an older version of "py").
  ExpectNoInstances();
  EXPECT_FALSE(Alive(first));
  const ExecResult next = Call(Python("counter:crash"));
  EXPECT_EQ(next.mode, v1::EXECUTION_MODE_COLD);
  ExpectNoInstances();
}

// An instance whose output reaches the worker through a relay, as containerd's
// ctr relays a container's: its death shows before its last frames do, the
// order that raced under load. Driven by hand so the order is certain.
class RelayedProcess final : public PersistentInstance::Process {
 public:
  explicit RelayedProcess(int exit_fd) : exit_fd_(exit_fd) {}
  pid_t pid() const override { return 0; }
  int exit_fd() const override { return exit_fd_; }
  bool Exited() const override {
    pollfd pfd{exit_fd_, POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 1;
  }
  void Freeze(bool) override {}
  void Kill() override {}
  bool Reap(int*, int*) override { return false; }  // only its exited frame can say
  absl::Duration CpuTime() const override { return absl::ZeroDuration(); }
  uint64_t ResidentBytes() const override { return 0; }
  absl::Duration output_lag() const override { return absl::Seconds(2); }

 private:
  const int exit_fd_;
};

// One call to an instance that dies during it: its death shows at once, its
// exited frame (status 9) comes through the relay 200 ms later. `shared`:
// through the path of instances that take several calls at once.
ExecResult CallARelayedInstanceThatDies(bool shared) {
  Fd requests_read, requests_write, replies_read, replies_write, died_read, died_write;
  EXPECT_TRUE(MakePipe(&requests_read, &requests_write));
  EXPECT_TRUE(MakePipe(&replies_read, &replies_write));
  EXPECT_TRUE(MakePipe(&died_read, &died_write));
  const auto send = [&](const InstanceReply& reply) {
    const std::string frame = shim::Frame(EncodeInstanceReply(reply));
    EXPECT_EQ(::write(replies_write.get(), frame.data(), frame.size()),
              static_cast<ssize_t>(frame.size()));
  };
  send(InstanceReply{});  // ready
  PersistentInstance::Channel channel;
  channel.requests = std::move(requests_write);
  channel.replies = std::move(replies_read);
  RunControl control;
  ExecResult result;
  std::unique_ptr<PersistentInstance> instance = PersistentInstance::Attach(
      std::make_unique<RelayedProcess>(died_read.get()), std::move(channel), absl::Now(),
      absl::Seconds(5), 4096, control, &result);
  if (instance == nullptr) return result;

  std::thread relay([&] {
    pollfd pfd{requests_read.get(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    EXPECT_EQ(::write(died_write.get(), "x", 1), 1);
    absl::SleepFor(absl::Milliseconds(200));
    InstanceReply exited;
    exited.kind = InstanceReplyKind::kExited;
    exited.exit_code = 9;
    send(exited);
    replies_write.Close();
  });
  ExecRequest request;
  request.invocation_id = "inv-1";
  request.timeout = absl::Seconds(10);
  result = shared ? instance->CallShared(request, control) : instance->Call(request, control);
  relay.join();
  EXPECT_FALSE(instance->alive());
  return result;
}

TEST(RelayedInstanceTest, HowItEndedIsReadFromFramesThatArriveAfterItsDeathShows) {
  for (const bool shared : {false, true}) {
    SCOPED_TRACE(shared ? "several calls at once" : "one call at a time");
    const ExecResult r = CallARelayedInstanceThatDies(shared);
    EXPECT_EQ(r.outcome, v1::OUTCOME_NONZERO_EXIT);
    EXPECT_EQ(r.exit_code, 9) << r.message;
    EXPECT_THAT(r.message, HasSubstr("exited with status 9 during the call"));
  }
}

TEST_F(PersistentInstanceTest, ACallPastItsTimeoutKillsTheInstanceAndNothingOfItRemains) {
  WriteCode("counter.py", kCounter);
  v1::FunctionSpec spec = Python("counter:slow");
  pid_t pid = 0;
  const absl::Time start = absl::Now();
  const ExecResult r = Call(spec, "", absl::Milliseconds(500), &pid);
  EXPECT_EQ(r.outcome, v1::OUTCOME_TIMEOUT);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ExpectNoInstances();
  EXPECT_FALSE(Alive(pid));
  // The same code, a new instance: its state starts over.
  spec.set_handler("counter:handle");
  EXPECT_EQ(Call(spec, "b").stdout_data, "1:b");
}

TEST_F(PersistentInstanceTest, ACancelledCallKillsItsInstance) {
  WriteCode("counter.py", kCounter);
  ExecRequest request;
  request.invocation_id = "inv-cancel";
  request.function = Python("counter:slow");
  request.timeout = absl::Seconds(30);
  RunControl control;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(800));
    control.cancelled = true;
  });
  const ExecResult r = runtime_.Run(request, control);
  canceller.join();
  EXPECT_EQ(r.outcome, v1::OUTCOME_CANCELLED);
  ExpectNoInstances();
}

// Preemption freezes the instance's process group; frozen time does not
// count toward the call's timeout.
TEST_F(PersistentInstanceTest, AFrozenCallResumesAndItsFrozenTimeIsNotCounted) {
  // 0.4 s of CPU: no progress while frozen (a sleep would run on).
  WriteCode("spin.py",
            "import time\n"
            "def handle(payload):\n"
            "    start = time.process_time()\n"
            "    while time.process_time() - start < 0.4:\n"
            "        pass\n"
            "    return b'done'\n");
  v1::FunctionSpec spec = Python("spin:handle");
  ASSERT_EQ(Call(spec).outcome, v1::OUTCOME_OK);  // started and initialised
  ExecRequest request;
  request.invocation_id = "inv-frozen";
  request.function = spec;
  request.timeout = absl::Milliseconds(900);
  RunControl control;
  std::thread preemptor([&] {
    absl::SleepFor(absl::Milliseconds(100));
    control.paused = true;
    absl::SleepFor(absl::Milliseconds(800));
    control.paused = false;
  });
  const absl::Time start = absl::Now();
  const ExecResult r = runtime_.Run(request, control);
  preemptor.join();
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  EXPECT_EQ(r.stdout_data, "done");
  EXPECT_EQ(r.mode, v1::EXECUTION_MODE_WARM);
  EXPECT_GE(r.paused, absl::Milliseconds(700));
  EXPECT_GE(r.cpu_time, absl::Milliseconds(350));           // the instance's CPU during this call
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1150))  // beyond its timeout, frozen
      << "execution " << r.execution << " paused " << r.paused;
}

TEST_F(PersistentInstanceTest, InstancesAreRecycledAfterNCallsAndPastAMemoryCeiling) {
  WriteCode("counter.py", kCounter);
  v1::FunctionSpec spec = Python("counter:handle");
  spec.mutable_warm()->set_recycle_after_calls(2);
  std::vector<std::string> outputs;
  std::vector<v1::ExecutionMode> modes;
  for (int i = 0; i < 3; ++i) {
    const ExecResult r = Call(spec, "x");
    outputs.push_back(r.stdout_data);
    modes.push_back(r.mode);
  }
  EXPECT_THAT(outputs, ::testing::ElementsAre("1:x", "2:x", "1:x"));
  EXPECT_THAT(modes, ::testing::ElementsAre(v1::EXECUTION_MODE_COLD, v1::EXECUTION_MODE_WARM,
                                            v1::EXECUTION_MODE_COLD));
  v1::FunctionSpec big = Python("counter:grow");
  big.set_name("big");
  big.mutable_warm()->set_recycle_above_memory_bytes(48 << 20);
  ASSERT_EQ(Call(big).outcome, v1::OUTCOME_OK);
  EXPECT_EQ(Call(big).mode, v1::EXECUTION_MODE_COLD);  // 64 MiB resident: replaced
}

TEST_F(PersistentInstanceTest, PrewarmedInstancesServeTheirFirstCallWithoutAColdStart) {
  WriteCode("counter.py", kCounter);
  const v1::FunctionSpec spec = Python("counter:handle");
  runtime_.Prewarm(spec, 1);
  runtime_.WaitIdle();
  const auto warm = runtime_.WarmSet();
  ASSERT_EQ(warm.size(), 1u);
  EXPECT_EQ(warm[0].mode(), v1::EXECUTION_MODE_PREWARMED);
  const ExecResult r = Call(spec, "p");
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK);
  EXPECT_EQ(r.mode, v1::EXECUTION_MODE_PREWARMED);
  EXPECT_EQ(r.cold_start, absl::ZeroDuration());
  EXPECT_EQ(r.stdout_data, "1:p");
}

// What the worker reports for warm-first placement: an instance busy with a
// call still counts as warm (it is idle again when the call ends).
TEST_F(PersistentInstanceTest, AnInstanceServingACallIsReportedWarm) {
  WriteCode("nap.py",
            "import os, time\n"
            "def handle(payload):\n"
            "    open(payload.decode(), 'w').close()\n"
            "    time.sleep(1)\n"
            "    return b'ok'\n");
  const v1::FunctionSpec spec = Python("nap:handle");
  const std::string first = code_ + "/first", second = code_ + "/second";
  ASSERT_EQ(Call(spec, first).outcome, v1::OUTCOME_OK);
  std::thread call([&] { EXPECT_EQ(Call(spec, second).outcome, v1::OUTCOME_OK); });
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!std::filesystem::exists(second) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  // The handler runs: the one instance is out of the idle pool, and warm.
  const auto busy = runtime_.WarmSet();
  call.join();
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0].mode(), v1::EXECUTION_MODE_WARM);
  EXPECT_EQ(busy[0].count(), 1u);
  const auto idle = runtime_.WarmSet();
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].count(), 1u);  // idle again: counted once, not twice
}

// Commands of one's own that speak the protocol badly.
TEST_F(PersistentInstanceTest, ACommandThatNeverSaysReadyOrSaysGarbageFailsItsInit) {
  v1::FunctionSpec spec;
  spec.set_name("own");
  spec.set_lifetime(v1::LIFETIME_PERSISTENT);
  spec.add_command("sleep");
  spec.add_command("30");
  ToProto(absl::Milliseconds(300), spec.mutable_limits()->mutable_init_timeout());
  ExecResult r = Call(spec);
  EXPECT_EQ(r.outcome, v1::OUTCOME_INIT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("init_timeout"));
  ExpectNoInstances();

  spec.set_command(0, "true");
  spec.mutable_command()->RemoveLast();
  r = Call(spec);
  EXPECT_EQ(r.outcome, v1::OUTCOME_INIT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("exited with status 0 before it was ready"));

  spec.set_command(0, "/bin/sh");
  spec.add_command("-c");
  spec.add_command("printf '\\005\\000\\000\\000hello' >&4; sleep 30");
  r = Call(spec);
  EXPECT_EQ(r.outcome, v1::OUTCOME_INIT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("malformed"));
  ExpectNoInstances();
}

// An instance that says ready, closes its reply pipe and lingers is not
// waited for: the call ends within a second or so, the instance killed.
TEST_F(PersistentInstanceTest, AnInstanceThatClosesItsRepliesAndLingersIsKilled) {
  v1::FunctionSpec spec;
  spec.set_name("own");
  spec.set_lifetime(v1::LIFETIME_PERSISTENT);
  // The ready frame: length 13, then field 1 (kind) of 8 bytes, all zero.
  spec.add_command("/bin/sh");
  spec.add_command("-c");
  spec.add_command(
      "printf '\\015\\000\\000\\000\\001\\010\\000\\000\\000"
      "\\000\\000\\000\\000\\000\\000\\000\\000' >&4; exec 4>&-; exec sleep 30");
  pid_t pid = 0;
  const ExecResult r = Call(spec, "x", absl::Seconds(20), &pid);
  EXPECT_EQ(r.outcome, v1::OUTCOME_NONZERO_EXIT) << r.message;
  EXPECT_THAT(r.message, HasSubstr("was killed by SIGKILL during the call"));
  EXPECT_FALSE(Alive(pid));
  ExpectNoInstances();
}

TEST_F(PersistentInstanceTest, NodeHandlersSyncAndAsyncKeepStateAndFailCleanly) {
  if (::access("/usr/bin/node", X_OK) != 0) GTEST_SKIP() << "no node here";
  WriteCode("index.js", R"(let count = 0;
exports.handle = async (payload, ctx) => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  count += 1;
  console.log('call', count, ctx.invocationId);
  return `${count}:${payload}`;
};
exports.reverse = (payload) => Buffer.from(payload).reverse();
exports.fail = async () => { throw new RangeError('too far'); };
exports.crash = () => process.exit(5);
exports.never = () => new Promise(() => {});
)");
  v1::FunctionSpec spec;
  spec.set_name("js");
  spec.set_language("node");
  spec.set_handler("index.js:handle");
  spec.set_working_dir(code_);
  for (int i = 1; i <= 3; ++i) {
    const ExecResult r = Call(spec, "n");
    ASSERT_EQ(r.outcome, v1::OUTCOME_OK) << r.message << r.stderr_data;
    EXPECT_EQ(r.stdout_data, absl::StrCat(i, ":n"));
    EXPECT_THAT(r.stderr_data, HasSubstr(absl::StrCat("call ", i)));
    EXPECT_EQ(r.mode, i == 1 ? v1::EXECUTION_MODE_COLD : v1::EXECUTION_MODE_WARM);
  }
  spec.set_handler("index.js:reverse");
  EXPECT_EQ(Call(spec, "abc").stdout_data, "cba");
  spec.set_handler("index.js:fail");
  ExecResult r = Call(spec);
  EXPECT_EQ(r.outcome, v1::OUTCOME_FUNCTION_ERROR);
  EXPECT_THAT(r.message, HasSubstr("RangeError: too far"));
  spec.set_handler("index.js:crash");
  r = Call(spec);
  EXPECT_EQ(r.outcome, v1::OUTCOME_NONZERO_EXIT);
  EXPECT_EQ(r.exit_code, 5);
  spec.set_handler("index.js:never");
  r = Call(spec, "", absl::Milliseconds(500));
  EXPECT_EQ(r.outcome, v1::OUTCOME_TIMEOUT);
  spec.set_handler("missing.js:handle");
  r = Call(spec);
  EXPECT_EQ(r.outcome, v1::OUTCOME_INIT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("Cannot find module"));
  runtime_.Evict("js");
  ExpectNoInstances();
}

// warm.concurrency: calls run in one instance at once. The handlers meet at a
// barrier that opens only when all four are inside together, so calls run one
// after another would fail it.
constexpr char kMeet[] = R"(import os, threading, time
barrier = threading.Barrier(4, timeout=10)

def meet(payload):
    if payload != b"warm-up":
        barrier.wait()
    return str(os.getpid())

def nap(payload):
    time.sleep(float(payload))
)";

constexpr char kMeetJs[] = R"(let waiting = [];
exports.meet = (payload) => new Promise((resolve, reject) => {
  if (String(payload) === 'warm-up') { resolve(String(process.pid)); return; }
  waiting.push(resolve);
  if (waiting.length === 4) { waiting.forEach((r) => r(String(process.pid))); waiting = []; }
  setTimeout(() => reject(new Error('not met')), 10000);
});
)";

class ConcurrentInstanceTest : public PersistentInstanceTest {
 protected:
  // Runs `count` calls of `spec` at once; their results.
  std::vector<ExecResult> CallAtOnce(const v1::FunctionSpec& spec, int count,
                                     std::vector<absl::Duration> timeouts = {},
                                     const std::string& payload = "") {
    std::vector<ExecRequest> requests(count);
    for (int i = 0; i < count; ++i) {
      requests[i].invocation_id = absl::StrCat("inv-", ++calls_);
      requests[i].function = spec;
      requests[i].stdin_data = payload;
      requests[i].timeout = i < static_cast<int>(timeouts.size()) ? timeouts[i] : absl::Seconds(20);
    }
    std::vector<ExecResult> results(count);
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
      threads.emplace_back([&, i] { results[i] = runtime_.Run(requests[i], never_); });
    }
    for (std::thread& t : threads) t.join();
    return results;
  }
};

TEST_F(ConcurrentInstanceTest, PythonAndNodeInstancesServeSeveralCallsAtOnce) {
  WriteCode("meet.py", kMeet);
  WriteCode("meet.js", kMeetJs);
  v1::FunctionSpec python = Python("meet:meet");
  python.mutable_warm()->set_concurrency(4);
  v1::FunctionSpec node = python;
  node.set_name("js");
  node.set_language("node");
  node.set_handler("meet.js:meet");
  for (const v1::FunctionSpec& spec : {python, node}) {
    if (spec.language() == "node" && ::access("/usr/bin/node", X_OK) != 0) continue;
    // Calls that find no instance up each start one; calls that find one
    // running or idle join it.
    const ExecResult first = Call(spec, "warm-up");
    ASSERT_EQ(first.outcome, v1::OUTCOME_OK) << first.message << first.stderr_data;
    for (int round = 0; round < 2; ++round) {
      const std::vector<ExecResult> results = CallAtOnce(spec, 4);
      for (const ExecResult& r : results) {
        ASSERT_EQ(r.outcome, v1::OUTCOME_OK)
            << spec.language() << ": " << r.message << r.stderr_data;
        EXPECT_EQ(r.stdout_data, first.stdout_data);  // one instance served all four
        EXPECT_EQ(r.mode, v1::EXECUTION_MODE_WARM);
      }
    }
    EXPECT_EQ(runtime_.live_instances(), spec.language() == "python" ? 1u : 2u);
  }
  runtime_.Evict("py");
  runtime_.Evict("js");
  ExpectNoInstances();
}

// One call past its timeout cannot be stopped alone: the instance goes, and
// the call beside it fails saying why.
TEST_F(ConcurrentInstanceTest, ACallPastItsTimeoutEndsTheInstanceAndTheCallsInIt) {
  WriteCode("meet.py", kMeet);
  v1::FunctionSpec spec = Python("meet:nap");
  spec.mutable_warm()->set_concurrency(2);
  ASSERT_EQ(Call(spec, "0").outcome, v1::OUTCOME_OK);
  const std::vector<ExecResult> results =
      CallAtOnce(spec, 2, {absl::Seconds(1), absl::Seconds(25)}, "60");
  EXPECT_EQ(results[0].outcome, v1::OUTCOME_TIMEOUT) << results[0].message;
  EXPECT_EQ(results[1].outcome, v1::OUTCOME_NONZERO_EXIT) << results[1].message;
  EXPECT_THAT(results[1].message, HasSubstr("a call in it ran past its timeout"));
  ExpectNoInstances();
  // The next call meets a fresh instance.
  const ExecResult r = Call(spec, "0");
  EXPECT_EQ(r.outcome, v1::OUTCOME_OK) << r.message;
  EXPECT_EQ(r.mode, v1::EXECUTION_MODE_COLD);
  runtime_.Evict("py");
  ExpectNoInstances();
}

}  // namespace
}  // namespace fsched::worker
