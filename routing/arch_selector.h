// The dynamic architecture selector (seed 001, DESIGN.md "Architecture
// selection"). Per entry node and function it keeps 60 s windows of
// end-to-end times per architecture and, every sample interval with enough
// samples, the tail ratio r = P95/P50 of each. The more the decentralized
// tail grows, the more traffic moves to federated; the more the federated
// tail grows, the more of that moves to centralized:
//
//   fed_w = ramp(r_dec, soft_d2f, hard_d2f)   when the rate ≥ 0.5 req/s, else 0
//   cen_w = ramp(r_fed, soft_f2c, hard_f2c)   when the rate ≥ 1.2 req/s, else 0
//   centralized = cen_w·fed_w, federated = fed_w − centralized,
//   decentralized = 1 − fed_w
//
// ramp is 0 below soft, 1 above hard, linear between. The ratios move toward
// those targets by a = 0.1 + 0.8·sigmoid(0.5·(|Δrate| − 5)): slowly while the
// rate is steady, fast when it jumps. Each request draws its architecture
// from the ratios. Not thread-safe: its owner serialises calls.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/quantiles.h"
#include "fsched/v1/admin.pb.h"
#include "fsched/v1/types.pb.h"

namespace fsched::routing {

using ArchThresholds = TailSchedulerConfig;

/// Applies the fields `update` sets. INVALID_ARGUMENT (and `thresholds`
/// unchanged) when the result breaks ValidateTailScheduler's rules.
absl::Status ApplyThresholds(const v1::Thresholds& update, ArchThresholds* thresholds);
v1::Thresholds ThresholdsProto(const ArchThresholds& thresholds);

/// 0 below `soft`, 1 above `hard`, linear between.
double Ramp(double r, double soft, double hard);

class ArchSelector {
 public:
  struct Ratios {
    double centralized = 0, federated = 0, decentralized = 1;
  };

  explicit ArchSelector(ArchThresholds thresholds, uint64_t seed = 1)
      : thresholds_(std::move(thresholds)), rng_(seed) {}

  /// A request for `function` arrives: the architecture to route it by.
  v1::Architecture Choose(const std::string& function, absl::Time now);
  /// Its end-to-end time, once it finished (any architecture, dynamic or not).
  void Record(const std::string& function, v1::Architecture architecture, double seconds,
              absl::Time now);
  /// Recomputes the ratios of functions whose sample interval has passed
  /// (Choose calls it too).
  void Update(absl::Time now);

  Ratios ratios(const std::string& function) const;
  const ArchThresholds& thresholds() const { return thresholds_; }
  absl::Status UpdateThresholds(const v1::Thresholds& update) {
    return ApplyThresholds(update, &thresholds_);
  }
  /// What GetArchMetrics reports: windows, ratios, rate and its log.
  std::vector<v1::FunctionArchMetrics> Metrics(const std::string& function, absl::Time now);

 private:
  static constexpr int kArchitectures = 3;  // centralized, federated, decentralized
  struct FunctionState {
    SlidingWindow windows[kArchitectures] = {
        {absl::Seconds(60), 2000}, {absl::Seconds(60), 2000}, {absl::Seconds(60), 2000}};
    std::deque<absl::Time> arrivals;  // over the last 10 s, for the rate
    Ratios ratios;
    double last_rate = 0;
    absl::Time next_update = absl::InfinitePast();
    std::deque<double> rate_log;  // one entry per update, newest last
  };
  static int Index(v1::Architecture architecture);
  static double Rate(FunctionState& state, absl::Time now);
  void UpdateFunction(FunctionState& state, absl::Time now);

  ArchThresholds thresholds_;
  std::mt19937_64 rng_;
  std::map<std::string, FunctionState> functions_;
};

}  // namespace fsched::routing
