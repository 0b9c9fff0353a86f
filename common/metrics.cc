#include "common/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace fsched {
std::string LabelCap::Value(const std::string& raw) {
  absl::MutexLock lock(&mu_);
  if (kept_.contains(raw)) return raw;
  if (kept_.size() >= max_) return kOverflowLabel;
  kept_.insert(raw);
  return raw;
}

size_t LabelCap::size() const {
  absl::MutexLock lock(&mu_);
  return kept_.size();
}

void GaugeWriter::Add(const std::string& name, const std::string& help,
                      const std::map<std::string, std::string>& labels, double value) {
  auto [it, inserted] = index_.emplace(name, families_.size());
  if (inserted) {
    prometheus::MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = prometheus::MetricType::Gauge;
    families_.push_back(std::move(family));
  }
  prometheus::ClientMetric metric;
  for (const auto& [key, label_value] : labels) metric.label.push_back({key, label_value});
  metric.gauge.value = value;
  families_[it->second].metric.push_back(std::move(metric));
}

std::vector<prometheus::MetricFamily> GaugeWriter::Take() {
  index_.clear();
  return std::move(families_);
}

std::string EnumLabel(const std::string& name, const std::string& prefix) {
  absl::string_view view = name;
  absl::ConsumePrefix(&view, prefix);
  return absl::AsciiStrToLower(view);
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  // Built once: histograms take the boundaries on every Add.
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 300};
  return *buckets;
}

class MetricsEndpoint::ScrapeGauges : public prometheus::Collectable {
 public:
  void Add(std::function<void(GaugeWriter&)> collect) {
    absl::MutexLock lock(&mu_);
    collectors_.push_back(std::move(collect));
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    GaugeWriter writer;
    absl::MutexLock lock(&mu_);
    for (const auto& collect : collectors_) collect(writer);
    return writer.Take();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::function<void(GaugeWriter&)>> collectors_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& listen) {
  ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(listen, "metrics.listen"));
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->registry_ = std::make_shared<prometheus::Registry>();
  endpoint->gauges_ = std::make_shared<ScrapeGauges>();
  // prometheus-cpp reports a failed bind by throwing from the constructor; this
  // is the one place that exception can leave the library.
  try {
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on '", listen,
                                               "' (address in use or not local?): ", e.what()));
  }
  const std::vector<int> ports = endpoint->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on '", listen, "'"));
  }
  address.port = ports.front();
  endpoint->bound_ = std::move(address);
  endpoint->exposer_->RegisterCollectable(endpoint->registry_);
  endpoint->exposer_->RegisterCollectable(endpoint->gauges_);
  return endpoint;
}

void MetricsEndpoint::AddGauges(std::function<void(GaugeWriter&)> collect) {
  gauges_->Add(std::move(collect));
}

void MetricsEndpoint::Stop() {
  if (!exposer_) return;
  StopWhileKnocking(bound_, [this] { exposer_.reset(); });
}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

}  // namespace fsched
