#include "common/node_metrics.h"

#include "common/metrics.h"

namespace fsched {

absl::StatusOr<std::unique_ptr<NodeMetrics>> NodeMetrics::Start(const MetricsConfig& config,
                                                                Identity identity) {
  std::unique_ptr<NodeMetrics> m(new NodeMetrics());
  m->functions_ = std::make_unique<LabelCap>(config.max_function_labels());
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
      MetricsEndpoint::Start(config.listen());
  if (!endpoint.ok()) return endpoint.status();
  m->endpoint_ = std::move(*endpoint);
  m->endpoint_->AddGauges([identity](GaugeWriter& out) {
    out.Add("fsched_node_info", "1, labelled with this node's id, role and zone",
            {{"node", identity.node_id}, {"role", identity.role}, {"zone", identity.zone}}, 1);
  });
  return m;
}

NodeMetrics::~NodeMetrics() {
  endpoint_.reset();  // no scrape may run while the rest goes away
}

int NodeMetrics::port() const { return endpoint_->port(); }

void NodeMetrics::StopServing() { endpoint_->Stop(); }

std::array<double, 4> CountByMode(
    const google::protobuf::RepeatedPtrField<v1::WarmInstance>& instances) {
  std::array<double, 4> counts{};
  for (const v1::WarmInstance& instance : instances) {
    if (instance.mode() >= 0 && static_cast<size_t>(instance.mode()) < counts.size()) {
      ++counts[instance.mode()];
    }
  }
  return counts;
}

}  // namespace fsched
