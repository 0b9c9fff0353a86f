#include "routing/routing_metrics.h"

#include "absl/strings/ascii.h"
#include "common/metrics.h"
#include "routing/routing_state.h"

namespace fsched::routing {

struct RoutingMetrics::Families {
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Counter>* forwarded = nullptr;
  prometheus::Family<prometheus::Histogram>* hops = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;
};

namespace {

constexpr v1::Architecture kConcrete[] = {v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_FEDERATED,
                                          v1::ARCHITECTURE_DECENTRALIZED};

std::string StatusLabel(const absl::Status& status) {
  return absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
}

void CollectSelector(RoutingState* state, LabelCap* functions, GaugeWriter& out) {
  const v1::GetArchMetricsResponse metrics = state->Metrics("");
  for (const v1::Architecture a : {v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_FEDERATED,
                                   v1::ARCHITECTURE_DECENTRALIZED, v1::ARCHITECTURE_DYNAMIC}) {
    out.Add("fsched_architecture", "1 for the architecture requests entering here are routed by",
            {{"architecture", ArchitectureName(a)}}, metrics.architecture() == a ? 1 : 0);
  }
  for (const v1::FunctionArchMetrics& f : metrics.functions()) {
    // Gauges cannot merge functions beyond the cap into one series; those are left out.
    if (functions->Value(f.function()) == kOverflowLabel) continue;
    const double ratios[] = {f.ratios().centralized(), f.ratios().federated(),
                             f.ratios().decentralized()};
    // All zero until the selector has drawn for the function (a fixed architecture never does).
    const bool drawn = ratios[0] + ratios[1] + ratios[2] > 0;
    for (size_t i = 0; drawn && i < 3; ++i) {
      out.Add("fsched_arch_ratio",
              "Share of a function's requests the dynamic selector sends to each architecture",
              {{"function", f.function()}, {"architecture", ArchitectureName(kConcrete[i])}},
              ratios[i]);
    }
    for (const v1::ArchWindow& w : f.windows()) {
      if (w.samples() == 0) continue;
      const std::map<std::string, std::string> labels = {
          {"function", f.function()}, {"architecture", ArchitectureName(w.architecture())}};
      out.Add("fsched_arch_tail_ratio",
              "P95/P50 of end-to-end latency over the selector's window, per architecture", labels,
              w.tail_ratio());
      out.Add("fsched_arch_p95_seconds", "P95 end-to-end latency over the selector's window",
              labels, w.p95_seconds());
    }
    out.Add("fsched_arch_request_rate",
            "Requests per second entering here for the function (the selector's rate gate)",
            {{"function", f.function()}}, f.requests_per_second());
  }
}

}  // namespace

RoutingMetrics::RoutingMetrics(MetricsEndpoint* endpoint, RoutingState* state, LabelCap* functions)
    : families_(std::make_unique<Families>()) {
  prometheus::Registry& registry = endpoint->registry();
  families_->requests = &prometheus::BuildCounter()
                             .Name("fsched_routed_requests_total")
                             .Help(
                                 "Requests that entered at this node, by the architecture "
                                 "that routed them and their gRPC outcome")
                             .Register(registry);
  families_->forwarded = &prometheus::BuildCounter()
                              .Name("fsched_forwarded_requests_total")
                              .Help("Requests that entered here and were served by another node")
                              .Register(registry);
  families_->hops = &prometheus::BuildHistogram()
                         .Name("fsched_route_hops")
                         .Help("Forwarding hops of requests that entered here")
                         .Register(registry);
  families_->latency = &prometheus::BuildHistogram()
                            .Name("fsched_entry_latency_seconds")
                            .Help(
                                "End-to-end time of requests that entered here, as their "
                                "clients see it (the selector's measure)")
                            .Register(registry);
  endpoint->AddGauges(
      [state, functions](GaugeWriter& out) { CollectSelector(state, functions, out); });
}

RoutingMetrics::~RoutingMetrics() = default;

void RoutingMetrics::OnEntryDone(v1::Architecture architecture,
                                 const absl::StatusOr<v1::InvocationResult>& result,
                                 absl::Duration elapsed) {
  const std::string arch = ArchitectureName(architecture);
  families_->requests->Add({{"architecture", arch}, {"code", StatusLabel(result.status())}})
      .Increment();
  if (!result.ok()) return;
  static const auto* const hop_buckets = new prometheus::Histogram::BucketBoundaries{0, 1, 2};
  families_->hops->Add({{"architecture", arch}}, *hop_buckets).Observe(result->hops());
  if (result->route_size() > 1) families_->forwarded->Add({{"architecture", arch}}).Increment();
  families_->latency->Add({{"architecture", arch}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace fsched::routing
