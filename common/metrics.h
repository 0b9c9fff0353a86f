// Prometheus glue shared by every fsched process: the HTTP endpoint (one port
// per process, /metrics), bounded label values, and scrape-time gauges. Only
// the *_metrics.cc files of master and worker include this header, so the
// components themselves stay free of prometheus-cpp.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/civetweb_listener.h"

namespace prometheus {
class Exposer;
}

namespace fsched {

/// Label value that stands for every value beyond a LabelCap's limit.
inline constexpr char kOverflowLabel[] = "_other";

/// Keeps a label's distinct values bounded: the first `max_values` values seen
/// are kept as they are, every later one becomes kOverflowLabel. So a client
/// that registers thousands of functions cannot grow the series count without bound.
class LabelCap {
 public:
  explicit LabelCap(size_t max_values) : max_(max_values) {}
  std::string Value(const std::string& raw);
  /// Distinct values kept so far (the overflow label not counted).
  size_t size() const;

 private:
  const size_t max_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> kept_ ABSL_GUARDED_BY(mu_);
};

/// Gauges computed when Prometheus scrapes, from the components' own state,
/// so nothing has to keep a copy of them up to date.
class GaugeWriter {
 public:
  /// Adds one sample of gauge `name`. The first Add of a name fixes its help.
  void Add(const std::string& name, const std::string& help,
           const std::map<std::string, std::string>& labels, double value);
  std::vector<prometheus::MetricFamily> Take();

 private:
  std::vector<prometheus::MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

/// A protobuf enum value name as a label: "OUTCOME_NONZERO_EXIT" with prefix
/// "OUTCOME_" gives "nonzero_exit".
std::string EnumLabel(const std::string& name, const std::string& prefix);

/// Latency buckets in seconds: 1 ms to 5 min, about 2.5x apart.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

class MetricsEndpoint {
 public:
  /// Serves the registry's metrics (and the scrape-time gauges) as Prometheus
  /// text at http://`listen`/metrics. `listen` is host:port (port 0 = any free
  /// port). UNAVAILABLE when it cannot be bound; INVALID_ARGUMENT when it is
  /// not host:port.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& listen);
  ~MetricsEndpoint();

  prometheus::Registry& registry() { return *registry_; }
  /// `collect` runs on every scrape (on the HTTP server's thread).
  void AddGauges(std::function<void(GaugeWriter&)> collect);
  int port() const { return bound_.port; }
  /// Stops serving (waits for a scrape in progress): call before what the
  /// gauges read goes away. Counters and histograms stay usable.
  void Stop();

 private:
  class ScrapeGauges;
  MetricsEndpoint() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapeGauges> gauges_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  ListenAddress bound_;  // the port actually bound
};

}  // namespace fsched
