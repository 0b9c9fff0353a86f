// What the durable-invocation journal costs per call, without the rest of the
// master: a caller waits for its acceptance's group commit, then hands in the
// dispatch and the finished invocation (scheduler.durable_invocations,
// docs/performance.md#durable-invocations-2026-12-06).
//   build/bench/journal_bench --benchmark_filter=Journal
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "master/invocation_journal.h"

namespace fsched::master {
namespace {

// One store and journal for all threads of a run, like the master's.
struct Shared {
  std::unique_ptr<FunctionStore> store;
  std::unique_ptr<StoreJournal> journal;
  std::atomic<uint64_t> next{0};
};
Shared* shared = nullptr;

v1::AcceptedInvocation MakeAccepted(const std::string& id) {
  v1::AcceptedInvocation a;
  a.set_id(id);
  a.mutable_spec()->set_name("echo");
  a.mutable_spec()->set_runtime(v1::RUNTIME_KIND_PROCESS);
  for (const char* arg : {"python3", "-m", "fsched_runtime"}) a.mutable_spec()->add_command(arg);
  a.mutable_request()->set_function("echo");
  a.mutable_request()->set_payload("request 12345");
  a.mutable_submitted()->set_seconds(1700000000);
  return a;
}

// `with_results` 0: only acceptances are kept (a finished one is deleted);
// 1: dispatches and results are journaled too, as the master does;
// 2: as 1, and each result is forgotten 1,000 calls later, as the master's
// retention (scheduler.retained_results) does once it is full: its steady state.
void BM_JournalCall(benchmark::State& state) {
  const bool with_results = state.range(0) >= 1;
  const bool forgets = state.range(0) == 2;
  constexpr uint64_t kRetained = 1000;
  if (state.thread_index() == 0) {
    const std::string dir = absl::StrCat("/tmp/fsched-journal-bench-", ::getpid());
    std::filesystem::remove_all(dir);
    shared = new Shared;
    shared->store = *FunctionStore::Open(dir);
    shared->journal = std::make_unique<StoreJournal>(shared->store.get());
  }
  // How long each acceptance waited for its commit: the tail shows what a
  // checkpoint on the committing thread would cost a caller.
  std::vector<double> waits_us;
  waits_us.reserve(1 << 16);
  for (auto _ : state) {
    const uint64_t n = shared->next.fetch_add(1);
    const std::string id = absl::StrCat("inv-", n);
    const absl::Time asked = absl::Now();
    if (!shared->journal->Accepted(MakeAccepted(id)).ok()) {
      state.SkipWithError("the journal refused an acceptance");
      break;
    }
    waits_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - asked));
    v1::Invocation done;
    done.set_id(id);
    if (with_results) {
      shared->journal->Dispatched(id, "w1", 1, absl::Now());
      done.set_function("echo");
      done.set_state(v1::INVOCATION_STATE_DONE);
      done.mutable_result()->set_stdout("request 12345");
      done.mutable_result()->set_worker_id("w1");
    }
    shared->journal->Finished(std::move(done));
    if (forgets && n >= kRetained)
      shared->journal->Forgotten({absl::StrCat("inv-", n - kRetained)});
  }
  if (!waits_us.empty()) {
    std::sort(waits_us.begin(), waits_us.end());
    const auto at = [&](double q) {
      return waits_us[std::min(waits_us.size() - 1, static_cast<size_t>(q * waits_us.size()))];
    };
    state.counters["accept_p50_us"] = benchmark::Counter(at(0.5), benchmark::Counter::kAvgThreads);
    state.counters["accept_p99_us"] = benchmark::Counter(at(0.99), benchmark::Counter::kAvgThreads);
    state.counters["accept_max_us"] =
        benchmark::Counter(waits_us.back(), benchmark::Counter::kAvgThreads);
  }
  if (state.thread_index() == 0) {
    const std::string dir = absl::StrCat("/tmp/fsched-journal-bench-", ::getpid());
    shared->journal.reset();
    shared->store.reset();
    delete shared;
    shared = nullptr;
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_JournalCall)
    ->ArgName("with_results")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Threads(1)
    ->Threads(8)
    ->UseRealTime();

}  // namespace
}  // namespace fsched::master

BENCHMARK_MAIN();
