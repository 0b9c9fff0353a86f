// What starting a process function costs, by how it is started: posix_spawn
// (the worker's own user, its limits) against the clone that sets rlimits and
// drops to nobody before exec (worker/child_process). Each iteration spawns
// /bin/true and reaps it, so the figure is the floor of a process call. Then
// whole calls through the process runtime (pipes, supervision, reaping), with
// and without a cgroup per call, and warm calls to a persistent instance.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "common/token_directory.h"
#include "worker/cgroup.h"
#include "worker/child_process.h"
#include "worker/process_runtime.h"

namespace fsched::worker {
namespace {

void SpawnAndReap(benchmark::State& state, const ChildIdentity& identity) {
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const int stdio[3] = {null_fd, null_fd, null_fd};
  for (auto _ : state) {
    pid_t pid = -1;
    if (SpawnChild({"/bin/true"}, {"PATH=/usr/bin:/bin"}, stdio, "", &pid, identity) != 0) {
      state.SkipWithError("spawn failed");
      break;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  ::close(null_fd);
}

void BM_PosixSpawn(benchmark::State& state) { SpawnAndReap(state, ChildIdentity{}); }
BENCHMARK(BM_PosixSpawn)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_CloneWithLimits(benchmark::State& state) {
  ChildIdentity identity;
  identity.rlimits = {{RLIMIT_NOFILE, 1024}, {RLIMIT_NPROC, 4096}, {RLIMIT_CORE, 0}};
  SpawnAndReap(state, identity);
}
BENCHMARK(BM_CloneWithLimits)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_CloneAsNobody(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("switching users needs root");
    return;
  }
  ChildIdentity identity;
  identity.uid = 65534;
  identity.gid = 65534;
  identity.rlimits = {{RLIMIT_NOFILE, 1024}, {RLIMIT_NPROC, 4096}, {RLIMIT_CORE, 0}};
  SpawnAndReap(state, identity);
}
BENCHMARK(BM_CloneAsNobody)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A whole call of /bin/true as nobody; with range(0) = 1, in a cgroup of its
// own with a memory and a CPU limit (reused, joined before exec). range(1):
// milliseconds between calls, untimed. Calls back to back hide what a join
// costs on its own: the kernel's cgroup_threadgroup_rwsem, taken for writing
// by every join, waits for an RCU grace period unless another writer passed
// through one just before.
void BM_ProcessRuntimeCall(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("switching users and making cgroups need root");
    return;
  }
  ProcessRuntime runtime;
  ChildIdentity identity;
  identity.uid = 65534;
  identity.gid = 65534;
  identity.rlimits = {{RLIMIT_NOFILE, 1024}, {RLIMIT_NPROC, 4096}, {RLIMIT_CORE, 0}};
  runtime.set_identity(identity);
  Cgroups cgroups;
  const std::string parent = "/fsched-bench-" + std::to_string(::getpid());
  if (state.range(0) == 1) {
    if (!cgroups.Create(parent).ok()) {
      state.SkipWithError("cannot make cgroups here");
      return;
    }
    runtime.set_cgroups(&cgroups, parent, 4096);
  }
  ExecRequest request;
  request.invocation_id = "bench";
  request.argv = {"/bin/true"};
  request.function.mutable_limits()->set_memory_bytes(128 << 20);
  request.function.mutable_limits()->set_cpu_cores(1);
  RunControl control;
  const absl::Duration gap = absl::Milliseconds(state.range(1));
  for (auto _ : state) {
    if (gap > absl::ZeroDuration()) {
      state.PauseTiming();
      absl::SleepFor(gap);
      state.ResumeTiming();
    }
    ExecResult r = runtime.Run(request, control);
    if (r.outcome != v1::OUTCOME_OK) {
      state.SkipWithError(r.message.c_str());
      break;
    }
  }
  if (state.range(0) == 1) cgroups.RemoveIfEmpty(parent);
}
BENCHMARK(BM_ProcessRuntimeCall)
    ->ArgNames({"cgroup", "gap_ms"})
    ->ArgsProduct({{0, 1}, {0, 50}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// A warm call to a persistent Python instance (fsched's runtime, an echo
// handler) through the process runtime: one request frame written, one
// reply read. range(0) = payload bytes.
void BM_PersistentCall(benchmark::State& state) {
  const std::string code = "/tmp/fsched-bench-code-" + std::to_string(::getpid());
  std::filesystem::create_directories(code);
  std::ofstream(code + "/echo.py") << "def handle(payload):\n    return payload\n";
  ProcessRuntime runtime;
  runtime.set_runtimes_dir(std::string(FSCHED_SOURCE_DIR) + "/runtimes");
  ExecRequest request;
  request.invocation_id = "bench";
  request.function.set_name("echo");
  request.function.set_language("python");
  request.function.set_handler("echo:handle");
  request.function.set_working_dir(code);
  request.stdin_data = std::string(static_cast<size_t>(state.range(0)), 'p');
  RunControl control;
  ExecResult first = runtime.Run(request, control);  // cold: starts and initialises it
  if (first.outcome != v1::OUTCOME_OK) {
    state.SkipWithError(first.message.c_str());
    return;
  }
  for (auto _ : state) {
    ExecResult r = runtime.Run(request, control);
    if (r.outcome != v1::OUTCOME_OK || r.mode != v1::EXECUTION_MODE_WARM) {
      state.SkipWithError(r.message.c_str());
      break;
    }
  }
  runtime.Evict("echo");
  runtime.WaitIdle();
  std::filesystem::remove_all(code);
}
BENCHMARK(BM_PersistentCall)
    ->ArgName("payload")
    ->Arg(16)
    ->Arg(64 << 10)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The gate's cost per call: header parse, SHA-256 of the token, directory lookup.
void BM_GateDecide(benchmark::State& state) {
  TokenDirectory directory;
  v1::TokenDirectory tokens;
  for (int i = 0; i < state.range(0); ++i) {
    v1::TokenHash* t = tokens.add_tokens();
    t->set_name("t" + std::to_string(i));
    t->set_role(v1::ROLE_INVOKER);
    t->set_sha256(TokenSha256("token-" + std::to_string(i)));
  }
  directory.Replace(tokens);
  Gate::Options options;
  options.cluster_token = "cluster";
  options.tokens = &directory;
  const Gate gate(options);
  const std::string header = "Bearer token-0";
  for (auto _ : state) {
    benchmark::DoNotOptimize(gate.Decide(header, "fsched.v1.Controller.Invoke"));
  }
}
BENCHMARK(BM_GateDecide)->Arg(1)->Arg(10000);

}  // namespace
}  // namespace fsched::worker

BENCHMARK_MAIN();
