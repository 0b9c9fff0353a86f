// Persistent instances on a live cluster (a real master and worker, the
// Python and Node.js runtimes of runtimes/): warm calls reach an instance
// that keeps its module state and imported once; init failure, a crash, a
// timeout and recycling are each reported as such, the worker's one slot is
// free for the next call, and no process of a failed instance is left.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "fsched/v1/worker.grpc.pb.h"
#include "tests/integration/cluster_fixture.h"
#include "tests/worker/busybox_rootfs.h"
#include "worker/cpu_affinity.h"

namespace fsched {
namespace {

// Processes started for `function` (their environment names it).
int ProcessesOf(const std::string& function) {
  const std::string marker = "FSCHED_FUNCTION=" + function + std::string(1, '\0');
  int count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const std::string environ = testing::ReadFile(entry.path().string() + "/environ");
    if (environ.find(marker) != std::string::npos) ++count;
  }
  return count;
}

// Until `function` has exactly `count` processes (instances are destroyed
// in the background).
bool AwaitProcesses(const std::string& function, int count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (ProcessesOf(function) == count) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

class RuntimeTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    code_ = dir_ + "/code";
    std::filesystem::create_directories(code_ + "/log");
    // Functions run as nobody: they read the code and write their log here.
    ::chmod(dir_.c_str(), 0755);
    ::chmod(code_.c_str(), 0755);
    ::chmod((code_ + "/log").c_str(), 0777);
    WriteCounter(code_, code_ + "/log/imports");
    testing::WriteFile(code_ + "/index.js", R"(let count = 0;
exports.handle = async (payload) => { count += 1; return `${count}:${payload}`; };
exports.crash = () => process.exit(9);
exports.slow = () => new Promise((resolve) => setTimeout(resolve, 60000));
)");
    ::chmod((code_ + "/index.js").c_str(), 0644);
  }

  // counter.py in `dir`, logging its imports to `log`.
  static void WriteCounter(const std::string& dir, const std::string& log) {
    testing::WriteFile(dir + "/counter.py", "LOG = '" + log + "'\n" + R"(import os, time
with open(LOG, "a") as log:
    log.write("imported\n")
time.sleep(0.3)  # an expensive import
count = 0

def handle(payload):
    global count
    count += 1
    return "%d:%s" % (count, payload.decode())

def crash(payload):
    os._exit(9)

def slow(payload):
    time.sleep(60)
)");
    ::chmod((dir + "/counter.py").c_str(), 0644);
  }

  grpc::Status RegisterHandler(const std::string& name, const std::string& language,
                               const std::string& handler,
                               absl::Duration timeout = absl::Seconds(20),
                               uint32_t recycle_after_calls = 0) {
    v1::RegisterFunctionRequest req;
    v1::FunctionSpec* spec = req.mutable_spec();
    spec->set_name(name);
    spec->set_language(language);
    spec->set_handler(handler);
    spec->set_working_dir(code_);
    if (!rootfs_.empty()) {  // in a runc container: the code is in its root filesystem
      spec->set_runtime(v1::RUNTIME_KIND_RUNC);
      spec->set_rootfs_path(rootfs_);
      spec->set_working_dir("/app");
    }
    spec->mutable_warm()->set_recycle_after_calls(recycle_after_calls);
    ToProto(timeout, spec->mutable_limits()->mutable_timeout());
    grpc::ClientContext ctx;
    v1::Function created;
    return controller_->RegisterFunction(&ctx, req, &created);
  }

  // Calls `name` once; the result.
  v1::InvocationResult Call(const std::string& name, const std::string& payload = "") {
    v1::InvocationResult result;
    const grpc::Status s = Invoke(name, payload, &result);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return result;
  }

  // The shared checks for one language: state, failures, the slot.
  void ExpectInstancesBehave(const std::string& language, const std::string& module) {
    const std::string p = language.substr(0, 2);
    ASSERT_TRUE(RegisterHandler(p + "-counter", language, module + ":handle").ok());
    for (int i = 1; i <= 3; ++i) {
      const v1::InvocationResult r = Call(p + "-counter", "x");
      ASSERT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message() << r.stderr();
      EXPECT_EQ(r.stdout(), absl::StrCat(i, ":x"));
      EXPECT_EQ(r.mode(), i == 1 ? v1::EXECUTION_MODE_COLD : v1::EXECUTION_MODE_WARM);
      EXPECT_EQ(r.timings().has_init(), i == 1);
    }
    EXPECT_EQ(ProcessesOf(p + "-counter"), processes_per_instance_);

    // A crash mid-call: reported, the instance gone, the slot free.
    ASSERT_TRUE(RegisterHandler(p + "-crash", language, module + ":crash").ok());
    v1::InvocationResult r = Call(p + "-crash");
    EXPECT_EQ(r.outcome(), v1::OUTCOME_NONZERO_EXIT) << r.message();
    EXPECT_EQ(r.exit_code(), 9);
    EXPECT_TRUE(AwaitProcesses(p + "-crash", 0));

    // Past its timeout: killed, nothing of it left, and the next call of
    // the same code meets a fresh instance.
    ASSERT_TRUE(RegisterHandler(p + "-slow", language, module + ":slow", absl::Seconds(1)).ok());
    r = Call(p + "-slow");
    EXPECT_EQ(r.outcome(), v1::OUTCOME_TIMEOUT) << r.message();
    EXPECT_TRUE(AwaitProcesses(p + "-slow", 0));

    // A handler that is not there: its own outcome, with the runtime's words.
    ASSERT_TRUE(RegisterHandler(p + "-missing", language,
                                language == "python" ? "nowhere:handle" : "nowhere.js:handle")
                    .ok());
    r = Call(p + "-missing");
    EXPECT_EQ(r.outcome(), v1::OUTCOME_INIT_FAILED) << r.message();
    EXPECT_FALSE(r.stderr().empty());
    EXPECT_TRUE(AwaitProcesses(p + "-missing", 0));

    // Recycled after two calls: the third starts over.
    ASSERT_TRUE(
        RegisterHandler(p + "-recycled", language, module + ":handle", absl::Seconds(20), 2).ok());
    std::vector<std::string> outputs;
    for (int i = 0; i < 3; ++i) outputs.push_back(Call(p + "-recycled", "y").stdout());
    EXPECT_THAT(outputs, ::testing::ElementsAre("1:y", "2:y", "1:y"));

    // The one slot served every call above; the warm instance still counts on.
    EXPECT_EQ(Call(p + "-counter", "x").stdout(), "4:x");
  }

  std::string code_;
  std::string rootfs_;              // set: the functions run in runc containers of it
  int processes_per_instance_ = 1;  // a container's shim carries the function's name too
};

TEST_F(RuntimeTest, PythonInstancesKeepStateImportOnceAndFailCleanly) {
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  ExpectInstancesBehave("python", "counter");
  // counter.py was imported once per instance, never per call: py-counter
  // (4 calls), py-crash, py-slow, and py-recycled's two instances.
  EXPECT_EQ(testing::ReadFile(code_ + "/log/imports"),
            "imported\nimported\nimported\nimported\nimported\n");
}

TEST_F(RuntimeTest, NodeInstancesKeepStateAndFailCleanly) {
  if (::access("/usr/bin/node", X_OK) != 0) GTEST_SKIP() << "no node here";
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  ExpectInstancesBehave("node", "index.js");
}

// A persistent function's input is its payload: args are refused with
// INVALID_ARGUMENT at the master and at a worker's own entry alike (before,
// a worker serving a call itself passed them to the instance it started).
TEST_F(RuntimeTest, ArgsForAPersistentFunctionAreRefusedAtEveryEntry) {
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  ASSERT_TRUE(RegisterHandler("py-args", "python", "counter:handle").ok());
  v1::InvokeRequest req;
  req.set_function("py-args");
  req.set_payload("x");
  req.add_args("--verbose");
  auto worker = v1::Worker::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", worker_ports_["w1"])));
  for (const v1::Architecture at_worker :
       {v1::ARCHITECTURE_UNSPECIFIED, v1::ARCHITECTURE_DECENTRALIZED}) {
    SCOPED_TRACE(v1::Architecture_Name(at_worker));
    req.set_architecture(at_worker);
    grpc::ClientContext master_ctx, worker_ctx;
    v1::InvocationResult result;
    const grpc::Status at_master = controller_->Invoke(&master_ctx, req, &result);
    EXPECT_EQ(at_master.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(at_master.error_message().find("a payload, not args"), std::string::npos)
        << at_master.error_message();
    const grpc::Status direct = worker->Invoke(&worker_ctx, req, &result);
    EXPECT_EQ(direct.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(direct.error_message().find("a payload, not args"), std::string::npos)
        << direct.error_message();
  }
  EXPECT_EQ(ProcessesOf("py-args"), 0);  // nothing was started for them
  req.clear_args();
  grpc::ClientContext ctx;
  v1::InvocationResult served;
  ASSERT_TRUE(worker->Invoke(&ctx, req, &served).ok());
  EXPECT_EQ(served.outcome(), v1::OUTCOME_OK) << served.message();
  EXPECT_EQ(served.stdout(), "1:x");
}

// The Cpus_allowed_list line of /proc/<pid>/task/<tid>/status (or of
// /proc/self/status's line given as `status`).
std::string CpusAllowed(const std::string& status) {
  const size_t at = status.find("Cpus_allowed_list:");
  if (at == std::string::npos) return "";
  const size_t end = status.find('\n', at);
  return std::string(absl::StripAsciiWhitespace(
      status.substr(at + 18, end == std::string::npos ? std::string::npos : end - at - 18)));
}

// worker.cpus: every thread of the worker, a call's process and a persistent
// instance run on the CPU named; a list that is not one stops the worker
// with the reason. (Pinned to the last CPU this test may use.)
TEST_F(RuntimeTest, AWorkerOnItsOwnCpusKeepsItsFunctionsThere) {
  absl::StatusOr<std::vector<int>> allowed = worker::AllowedCpus();
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  const int target = allowed->back();  // the last CPU this test may use
  worker_flags_ = {"--cpus", absl::StrCat(target)};
  StartMaster();
  Process* worker = StartWorker("w1", 0);  // 0 slots: one per pinned CPU
  ASSERT_NE(worker, nullptr);
  WaitForReady({"w1"});
  EXPECT_EQ(ListWorkers()[0].capacity().slots(), 1u);
  EXPECT_EQ(ListWorkers()[0].capacity().cores(), 1u);
  std::error_code ec;
  int threads = 0;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", worker->pid(), "/task"), ec)) {
    // A thread listed may end before its status is read (gRPC's pools shrink,
    // start-up threads finish): only the threads still there are checked.
    const std::string status = testing::ReadFile(task.path().string() + "/status");
    if (status.empty()) continue;
    EXPECT_EQ(CpusAllowed(status), absl::StrCat(target)) << task.path();
    ++threads;
  }
  EXPECT_GT(threads, 3);

  ASSERT_TRUE(Register("where", {"grep", "Cpus_allowed_list", "/proc/self/status"}).ok());
  v1::InvocationResult exec = Call("where");
  EXPECT_EQ(exec.outcome(), v1::OUTCOME_OK) << exec.message() << exec.stderr();
  EXPECT_EQ(CpusAllowed(exec.stdout()), absl::StrCat(target)) << exec.stdout();
  testing::WriteFile(code_ + "/where.py", R"(def handle(payload):
    return [l for l in open("/proc/self/status") if l.startswith("Cpus_allowed_list")][0]
)");
  ::chmod((code_ + "/where.py").c_str(), 0644);
  ASSERT_TRUE(RegisterHandler("py-where", "python", "where:handle").ok());
  for (int i = 0; i < 2; ++i) {  // cold, then warm on the same instance
    v1::InvocationResult hosted = Call("py-where");
    EXPECT_EQ(hosted.outcome(), v1::OUTCOME_OK) << hosted.message() << hosted.stderr();
    EXPECT_EQ(CpusAllowed(hosted.stdout()), absl::StrCat(target)) << hosted.stdout();
  }

  // In a runc container too (runc and the container's processes start from the worker).
  if (worker::testing::WhyNoContainers().empty()) {
    std::string why;
    ASSERT_TRUE(worker::testing::MakeBusyboxRootfs(dir_ + "/box", &why)) << why;
    v1::RegisterFunctionRequest req;
    req.mutable_spec()->set_name("boxed-where");
    req.mutable_spec()->set_runtime(v1::RUNTIME_KIND_RUNC);
    req.mutable_spec()->set_rootfs_path(dir_ + "/box");
    for (const char* arg : {"grep", "Cpus_allowed_list", "/proc/self/status"}) {
      req.mutable_spec()->add_command(arg);
    }
    grpc::ClientContext ctx;
    v1::Function created;
    ASSERT_TRUE(controller_->RegisterFunction(&ctx, req, &created).ok());
    v1::InvocationResult boxed = Call("boxed-where");
    EXPECT_EQ(boxed.outcome(), v1::OUTCOME_OK) << boxed.message() << boxed.stderr();
    EXPECT_EQ(CpusAllowed(boxed.stdout()), absl::StrCat(target)) << boxed.stdout();
  }

  // Not a list (the config's rule); a CPU this process may not use (at start).
  for (const std::string& bad : {std::string("3-1"), absl::StrCat(target + 1)}) {
    std::remove((dir_ + "/bad-cpus.log").c_str());
    auto process =
        Process::Start({FSCHED_WORKER_BIN, "--cpus", bad, "--listen", "127.0.0.1:0", "--state_dir",
                        dir_ + "/bad-state", "--join_token_file", TokenFile("bad", kToken)},
                       dir_ + "/bad-cpus.log");
    ASSERT_TRUE(process.ok()) << process.status();
    const std::optional<int> code = (*process)->Wait(absl::Seconds(20));
    ASSERT_TRUE(code.has_value()) << bad;
    EXPECT_EQ(*code, 2) << bad;
    EXPECT_THAT(testing::ReadFile(dir_ + "/bad-cpus.log"), HasSubstr("worker.cpus: ")) << bad;
  }
}

// The same Python function in runc containers: a root filesystem with the
// host's python3 and the code in /app (read-only: the import log goes to the
// container's /tmp). The runtime is mounted in; the shim runs the instance.
TEST_F(RuntimeTest, PythonInstancesInRuncContainersBehaveTheSame) {
  if (const std::string why = worker::testing::WhyNoContainers(); !why.empty()) {
    GTEST_SKIP() << why;
  }
  std::string why;
  rootfs_ = dir_ + "/pyroot";
  ASSERT_TRUE(worker::testing::MakePythonRootfs(rootfs_, &why)) << why;
  std::filesystem::create_directories(rootfs_ + "/app");
  ::chmod((rootfs_ + "/app").c_str(), 0755);
  WriteCounter(rootfs_ + "/app", "/tmp/imports");
  processes_per_instance_ = 2;
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  ExpectInstancesBehave("python", "counter");
  // Warm calls were one frame each way into the running container.
  const v1::InvocationResult warm = Call("py-counter", "w");
  EXPECT_EQ(warm.stdout(), "5:w");
  EXPECT_EQ(warm.mode(), v1::EXECUTION_MODE_WARM);

  // fschedctl's way: --rootfs, and --code is the directory inside it.
  CtlRun r = Ctl({"register", "boxed", "--runtime", "python", "--rootfs", rootfs_, "--code", "/app",
                  "--handler", "counter:handle"});
  ASSERT_EQ(r.code, 0) << r.output;
  r = Ctl({"invoke", "boxed", "--payload", "c"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1:c"));
  r = Ctl({"register", "boxed2", "--runtime", "python", "--rootfs", rootfs_, "--code", "app",
           "--handler", "counter:handle"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("inside the container"));
}

// fschedctl's way in: --runtime python --code with an archive it uploads
// (the workers fetch it by digest), and a pre-warmed instance.
TEST_F(RuntimeTest, CodeTravelsAsAnArchiveAndInstancesCanBePrewarmed) {
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  ASSERT_EQ(std::system(("tar -C " + code_ + " -cf " + dir_ + "/code.tar counter.py").c_str()), 0);
  CtlRun r = Ctl({"register", "archived", "--runtime", "python", "--code", dir_ + "/code.tar",
                  "--handler", "counter:handle", "--prewarmed", "1"});
  ASSERT_EQ(r.code, 0) << r.output;
  // Pre-warmed from the archive (the worker reports it idle and initialised
  // with its load): the first call finds it ready.
  bool prewarmed = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!prewarmed && absl::Now() < deadline) {
    for (const v1::WorkerInfo& w : ListWorkers()) {
      for (const v1::WarmInstance& warm : w.load().warm()) {
        prewarmed |= warm.function() == "archived" && warm.mode() == v1::EXECUTION_MODE_PREWARMED;
      }
    }
    if (!prewarmed) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(prewarmed) << testing::ReadFile(dir_ + "/w1.log");
  r = Ctl({"invoke", "archived", "--payload", "z"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1:z"));
  EXPECT_THAT(r.output, HasSubstr("archived on w1: ok, prewarmed"));
  r = Ctl({"functions"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::ContainsRegex("archived +1 +python +counter:handle"));
  // Instances that serve several calls at once, through the whole cluster.
  r = Ctl({"register", "shared", "--runtime", "python", "--code", code_, "--handler",
           "counter:handle", "--instance_concurrency", "3"});
  ASSERT_EQ(r.code, 0) << r.output;
  r = Ctl({"invoke", "shared", "--payload", "s"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1:s"));
  r = Ctl({"register", "bad", "--runtime", "python", "--code", dir_ + "/nothing-here", "--handler",
           "m:f"});
  EXPECT_EQ(r.code, 2) << r.output;
  r = Ctl({"register", "bad", "--runtime", "python", "--code", code_, "--handler", "nocolon"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("module:function"));
}

// Code archives unpacked on a worker stay within worker.rootfs_cache_bytes:
// one held by a warm instance is kept past the budget, and goes once its
// function is deleted and nothing holds it.
TEST_F(RuntimeTest, AWorkersUnpackedArchivesStayWithinItsBudget) {
  const std::string config = dir_ + "/worker.yaml";
  testing::WriteFile(config, "worker: {rootfs_cache_bytes: 1MiB}\n");
  worker_flags_ = {"--config", config};
  StartMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  // Two archives of about 600 KiB each: one fits the budget, two do not.
  for (const std::string name : {"first", "second"}) {
    testing::WriteFile(code_ + "/pad", std::string(600 << 10, name[0]));
    ASSERT_EQ(
        std::system(
            ("tar -C " + code_ + " -cf " + dir_ + "/" + name + ".tar counter.py pad").c_str()),
        0);
    CtlRun r = Ctl({"register", name, "--runtime", "python", "--code", dir_ + "/" + name + ".tar",
                    "--handler", "counter:handle"});
    ASSERT_EQ(r.code, 0) << r.output;
  }
  const std::string cache = dir_ + "/worker-state/rootfs-cache";
  auto unpacked = [&] {
    int count = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(cache, ec)) {
      count += std::filesystem::exists(entry.path() / "complete");
    }
    return count;
  };
  CtlRun r = Ctl({"invoke", "first", "--payload", "a"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(unpacked(), 1);
  r = Ctl({"invoke", "second", "--payload", "b"});
  ASSERT_EQ(r.code, 0) << r.output;
  // first's warm instance still holds its code: both stay, above the budget.
  EXPECT_EQ(unpacked(), 2);
  EXPECT_THAT(testing::ReadFile(dir_ + "/w1.log"),
              HasSubstr("above worker.rootfs_cache_bytes (1048576)"));
  r = Ctl({"invoke", "first", "--payload", "c"});
  EXPECT_THAT(r.output, HasSubstr("2:c")) << "the same warm instance serves it";

  // Deleted, first's instance is destroyed and its unpacked code released
  // and evicted; second's, held by its own instance, stays.
  r = Ctl({"delete", "first"});
  ASSERT_EQ(r.code, 0) << r.output;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (unpacked() != 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(unpacked(), 1) << testing::ReadFile(dir_ + "/w1.log");
  r = Ctl({"invoke", "second", "--payload", "d"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("2:d"));
}

}  // namespace
}  // namespace fsched
