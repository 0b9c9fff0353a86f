// Google Benchmark of the scheduler hot path: with a deep queue and many
// workers, one invocation's enqueue + pick + place + dispatch, driven the way
// the live master drives it (a result frees a slot, the pump fills it, a new
// invocation arrives). Streams are in-memory, so this measures scheduling only.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "common/clock.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/timer_queue.h"
#include "master/master_core.h"

namespace fsched::master {
namespace {

// Keeps only the newest assignment: the benchmark answers it at once.
class LastAssignmentStream final : public WorkerStream {
 public:
  void Send(const v1::MasterMessage& message) override {
    if (message.has_assignment()) last = message.assignment();
  }
  void Close(const absl::Status&) override {}
  v1::Assignment last;
};

struct Cluster {
  Cluster(int workers, int queued, const std::string& order, const std::string& placement) {
    dir = std::filesystem::temp_directory_path() / "fsched-bench-scheduler";
    std::filesystem::remove_all(dir);
    MasterCoreOptions options;
    options.state_dir = dir.string();
    options.retention.results = 1000;
    options.queue_order = order;
    options.placement = placement;
    options.scheduler.max_queue = workers + queued + 1000;
    core = std::move(*MasterCore::Create(std::move(options), &clock, &timers));
    registry = core->registry();
    cluster = core->cluster();
    table = core->table();
    predictor = core->predictor();
    scheduler = core->scheduler();
    for (int f = 0; f < 16; ++f) {
      spec.set_name("fn-" + std::to_string(f));
      spec.add_command("true");
      (void)registry->Register(spec, false);
      spec.clear_command();
      for (int i = 0; i < 5; ++i) predictor->Observe(spec.name(), 0, 0.01 * (f + 1));
    }
    // Queue first, then workers one by one: setup stays linear in size.
    // Afterwards every slot is busy, the queue stays deep and each freed slot is contested.
    for (int i = 0; i < workers + queued; ++i) Submit(i);
    for (int w = 0; w < workers; ++w) {
      auto stream = std::make_shared<LastAssignmentStream>();
      v1::Register reg;
      reg.set_worker_id("w" + std::to_string(w));
      reg.mutable_capacity()->set_slots(1);
      v1::Welcome welcome;
      (void)cluster->Register(reg, stream, &welcome);
      streams.push_back(stream);
      scheduler->Pump();  // fills this worker's slot: one candidate per pump, as in steady state
    }
  }
  void Submit(int i) {
    const std::string id = Admit(i);
    (void)scheduler->Enqueue(id, {spec, 0, "", 0, clock.Now()});
  }
  // The controller's part of a new invocation: validated spec, a table entry.
  std::string Admit(int i) {
    spec.set_name("fn-" + std::to_string(i % 16));
    v1::InvokeRequest request;
    return *table->Create(spec, request, absl::Seconds(60), clock.Now(), nullptr);
  }
  std::filesystem::path dir;
  ManualClock clock{absl::FromUnixSeconds(1700000000)};
  v1::FunctionSpec spec;
  TimerQueue timers;
  std::unique_ptr<MasterCore> core;  // as fsched-master builds it
  FunctionRegistry* registry = nullptr;
  ClusterManager* cluster = nullptr;
  InvocationTable* table = nullptr;
  scheduling::RuntimePredictor* predictor = nullptr;
  Scheduler* scheduler = nullptr;
  std::vector<std::shared_ptr<LastAssignmentStream>> streams;
};

void BM_ResultDispatchEnqueue(benchmark::State& state, const std::string& order,
                              const std::string& placement) {
  const int workers = static_cast<int>(state.range(0));
  const int queued = static_cast<int>(state.range(1));
  Cluster c(workers, queued, order, placement);
  int next = workers + queued;
  int w = 0;
  for (auto _ : state) {
    // Worker w finishes; the pump places the best queued invocation there; one arrives.
    const v1::Assignment& done = c.streams[w]->last;
    v1::InvocationResult result;
    result.set_invocation_id(done.invocation_id());
    result.set_attempts(done.attempt());
    result.set_function(done.function().name());
    result.set_outcome(v1::OUTCOME_OK);
    c.scheduler->OnResult("w" + std::to_string(w), std::move(result));
    c.Submit(next++);
    c.clock.Advance(absl::Microseconds(10));
    w = (w + 1) % workers;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["queued"] = static_cast<double>(c.scheduler->queued());
}

// The scheduler's own share of one invocation, timed alone: enqueue it into a
// deep queue, then pick the best queued invocation and place it on the worker
// whose slot just freed (assignment built and handed to the stream). The
// result bookkeeping and admission around it run untimed.
void BM_EnqueuePickPlace(benchmark::State& state, const std::string& order,
                         const std::string& placement) {
  const int workers = static_cast<int>(state.range(0));
  const int queued = static_cast<int>(state.range(1));
  Cluster c(workers, queued, order, placement);
  int next = workers + queued;
  int w = 0;
  for (auto _ : state) {
    const v1::Assignment& done = c.streams[w]->last;
    const std::string worker = "w" + std::to_string(w);
    c.cluster->Release(worker, done.invocation_id(), done.attempt());
    v1::InvocationResult result;
    result.set_invocation_id(done.invocation_id());
    result.set_outcome(v1::OUTCOME_OK);
    c.table->Complete(done.invocation_id(), done.attempt(), std::move(result), c.clock.Now());
    const std::string id = c.Admit(next++);

    const auto start = std::chrono::steady_clock::now();
    (void)c.scheduler->Enqueue(id, {c.spec, 0, "", 0, c.clock.Now()});
    c.scheduler->Pump();
    const auto end = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());

    c.clock.Advance(absl::Microseconds(10));
    w = (w + 1) % workers;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["queued"] = static_cast<double>(c.scheduler->queued());
}

BENCHMARK_CAPTURE(BM_EnqueuePickPlace, fifo_rr, std::string("fifo"), std::string("round-robin"))
    ->Args({10000, 100000})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EnqueuePickPlace, aging_srtf_least_loaded, std::string("aging-srtf"),
                  std::string("least-loaded"))
    ->Args({1000, 10000})
    ->Args({10000, 100000})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_CAPTURE(BM_ResultDispatchEnqueue, fifo_rr, std::string("fifo"),
                  std::string("round-robin"))
    ->Args({100, 1000})
    ->Args({1000, 10000})
    ->Args({10000, 100000})
    ->Args({10000, 1000})
    ->Args({1000, 100000})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ResultDispatchEnqueue, aging_srtf_least_loaded, std::string("aging-srtf"),
                  std::string("least-loaded"))
    ->Args({100, 1000})
    ->Args({1000, 10000})
    ->Args({10000, 100000})
    ->Args({10000, 1000})
    ->Args({1000, 100000})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace fsched::master

int main(int argc, char** argv) {
  fsched::SetLogLevel(fsched::LogLevel::kError);  // thousands of joins are not news
  fsched::DisableLockCycleDetection();            // as fsched-master runs
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
