#include "common/metrics.h"

#include <netdb.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace fsched {
namespace {

// Connects to host:port and closes again (see MetricsEndpoint::Stop).
void KnockOnce(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    connect(fd, found->ai_addr, found->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

}  // namespace

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
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics.listen '", listen, "' is not host:port (e.g. 0.0.0.0:9464; port 0 = any)"));
  }
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
  endpoint->port_ = ports.front();
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  endpoint->wake_host_ = host;
  endpoint->exposer_->RegisterCollectable(endpoint->registry_);
  endpoint->exposer_->RegisterCollectable(endpoint->gauges_);
  return endpoint;
}

void MetricsEndpoint::AddGauges(std::function<void(GaugeWriter&)> collect) {
  gauges_->Add(std::move(collect));
}

void MetricsEndpoint::Stop() {
  if (!exposer_) return;
  // Debian's civetweb polls its listening socket in 2 s quanta and only looks
  // at the stop flag between polls, so a plain stop takes up to 2 s. A
  // connection ends the poll at once: keep knocking until the server is gone.
  std::atomic<bool> stopped{false};
  std::thread knocker([this, &stopped] {
    while (!stopped.load()) {
      KnockOnce(wake_host_, port_);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  exposer_.reset();
  stopped.store(true);
  knocker.join();
}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

}  // namespace fsched
