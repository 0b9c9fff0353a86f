// Google Benchmark of what metrics add to one finished invocation on the
// master: the counters and five histograms it updates, by function label.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/proto_time.h"
#include "master/master_metrics.h"
#include "routing/routing_state.h"

namespace fsched::master {
namespace {

v1::InvocationResult Result(int function) {
  v1::InvocationResult r;
  r.set_function("fn-" + std::to_string(function));
  r.set_outcome(v1::OUTCOME_OK);
  r.set_mode(v1::EXECUTION_MODE_WARM);
  r.set_predicted_seconds(0.1);
  ToProto(absl::Milliseconds(120), r.mutable_timings()->mutable_total());
  ToProto(absl::Milliseconds(2), r.mutable_timings()->mutable_queue_wait());
  ToProto(absl::Milliseconds(110), r.mutable_timings()->mutable_execution());
  return r;
}

// One finished invocation recorded, over `functions` distinct function labels.
void BM_RecordInvocation(benchmark::State& state) {
  routing::RoutingState routing(DefaultConfig<TailSchedulerConfig>(), RealClock::Get());
  MasterMetrics::Options options;  // what the gauges read is read only on scrape
  options.routing = &routing;
  const MetricsConfig config = DefaultConfig<MetricsConfig>();
  auto metrics = MasterMetrics::Start(config, options);
  if (!metrics.ok()) {
    state.SkipWithError(std::string(metrics.status().message()).c_str());
    return;
  }
  const int functions = static_cast<int>(state.range(0));
  std::vector<v1::InvocationResult> results;
  for (int f = 0; f < functions; ++f) results.push_back(Result(f));
  size_t i = 0;
  for (auto _ : state) {
    (*metrics)->OnResult(results[i++ % results.size()]);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordInvocation)->Arg(1)->Arg(100);

}  // namespace
}  // namespace fsched::master

BENCHMARK_MAIN();
