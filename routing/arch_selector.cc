#include "routing/arch_selector.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "routing/routing_config.h"

namespace fsched::routing {
namespace {

constexpr absl::Duration kRateWindow = absl::Seconds(10);
constexpr size_t kRateLog = 60;
constexpr double kFederatedRateGate = 0.5;    // req/s
constexpr double kCentralizedRateGate = 1.2;  // req/s

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

absl::Status ApplyThresholds(const v1::Thresholds& update, ArchThresholds* thresholds) {
  ArchThresholds next = *thresholds;
  if (update.has_soft_d2f()) next.set_soft_d2f_threshold(update.soft_d2f());
  if (update.has_hard_d2f()) next.set_hard_d2f_threshold(update.hard_d2f());
  if (update.has_soft_f2c()) next.set_soft_f2c_threshold(update.soft_f2c());
  if (update.has_hard_f2c()) next.set_hard_f2c_threshold(update.hard_f2c());
  if (update.has_min_samples()) next.set_min_samples(update.min_samples());
  if (update.has_sample_interval_seconds()) {
    ToProto(absl::Seconds(update.sample_interval_seconds()), next.mutable_sample_interval());
  }
  if (update.has_offload_load_threshold()) {
    next.set_offload_load_threshold(update.offload_load_threshold());
  }
  RETURN_IF_ERROR(ValidateTailScheduler(next));
  *thresholds = next;
  return absl::OkStatus();
}

v1::Thresholds ThresholdsProto(const ArchThresholds& t) {
  v1::Thresholds out;
  out.set_soft_d2f(t.soft_d2f_threshold());
  out.set_hard_d2f(t.hard_d2f_threshold());
  out.set_soft_f2c(t.soft_f2c_threshold());
  out.set_hard_f2c(t.hard_f2c_threshold());
  out.set_min_samples(t.min_samples());
  out.set_sample_interval_seconds(ToSeconds(t.sample_interval()));
  out.set_offload_load_threshold(t.offload_load_threshold());
  return out;
}

double Ramp(double r, double soft, double hard) {
  if (r <= soft) return 0;
  if (r >= hard) return 1;
  return (r - soft) / (hard - soft);
}

int ArchSelector::Index(v1::Architecture architecture) {
  switch (architecture) {
    case v1::ARCHITECTURE_CENTRALIZED:
      return 0;
    case v1::ARCHITECTURE_FEDERATED:
      return 1;
    case v1::ARCHITECTURE_DECENTRALIZED:
      return 2;
    default:
      return -1;
  }
}

double ArchSelector::Rate(FunctionState& state, absl::Time now) {
  while (!state.arrivals.empty() && state.arrivals.front() < now - kRateWindow) {
    state.arrivals.pop_front();
  }
  return static_cast<double>(state.arrivals.size()) / absl::ToDoubleSeconds(kRateWindow);
}

v1::Architecture ArchSelector::Choose(const std::string& function, absl::Time now) {
  FunctionState& state = functions_[function];
  state.arrivals.push_back(now);
  if (now >= state.next_update) UpdateFunction(state, now);
  const double draw = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (draw < state.ratios.centralized) return v1::ARCHITECTURE_CENTRALIZED;
  if (draw < state.ratios.centralized + state.ratios.federated) return v1::ARCHITECTURE_FEDERATED;
  return v1::ARCHITECTURE_DECENTRALIZED;
}

void ArchSelector::Record(const std::string& function, v1::Architecture architecture,
                          double seconds, absl::Time now) {
  const int i = Index(architecture);
  if (i < 0 || !std::isfinite(seconds) || seconds < 0) return;
  functions_[function].windows[i].Add(now, seconds);
}

void ArchSelector::Update(absl::Time now) {
  for (auto& [name, state] : functions_) {
    if (now >= state.next_update) UpdateFunction(state, now);
  }
}

void ArchSelector::UpdateFunction(FunctionState& state, absl::Time now) {
  state.next_update = now + FromProto(thresholds_.sample_interval());
  double tail[kArchitectures] = {0, 0, 0};  // 0: not enough samples to say
  for (int i = 0; i < kArchitectures; ++i) {
    state.windows[i].Expire(now);
    if (state.windows[i].size() < thresholds_.min_samples()) continue;
    const Summary s = Summarize(state.windows[i].Values());
    if (s.p50 > 0) tail[i] = s.p95 / s.p50;
  }
  const double rate = Rate(state, now);
  const double fed_w = rate >= kFederatedRateGate ? Ramp(tail[2], thresholds_.soft_d2f_threshold(),
                                                         thresholds_.hard_d2f_threshold())
                                                  : 0;
  const double cen_w =
      rate >= kCentralizedRateGate
          ? Ramp(tail[1], thresholds_.soft_f2c_threshold(), thresholds_.hard_f2c_threshold())
          : 0;
  Ratios target;
  target.centralized = cen_w * fed_w;
  target.federated = fed_w - target.centralized;
  target.decentralized = 1 - fed_w;
  const double a = 0.1 + 0.8 * Sigmoid(0.5 * (std::abs(rate - state.last_rate) - 5));
  Ratios& r = state.ratios;
  r.centralized += a * (target.centralized - r.centralized);
  r.federated += a * (target.federated - r.federated);
  r.decentralized += a * (target.decentralized - r.decentralized);
  state.last_rate = rate;
  state.rate_log.push_back(rate);
  if (state.rate_log.size() > kRateLog) state.rate_log.pop_front();
}

ArchSelector::Ratios ArchSelector::ratios(const std::string& function) const {
  auto it = functions_.find(function);
  return it == functions_.end() ? Ratios{} : it->second.ratios;
}

std::vector<v1::FunctionArchMetrics> ArchSelector::Metrics(const std::string& function,
                                                           absl::Time now) {
  std::vector<v1::FunctionArchMetrics> out;
  for (auto& [name, state] : functions_) {
    if (!function.empty() && name != function) continue;
    v1::FunctionArchMetrics& m = out.emplace_back();
    m.set_function(name);
    static constexpr v1::Architecture kOrder[kArchitectures] = {
        v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_FEDERATED, v1::ARCHITECTURE_DECENTRALIZED};
    for (int i = 0; i < kArchitectures; ++i) {
      state.windows[i].Expire(now);
      const std::vector<double> values = state.windows[i].Values();
      const Summary s = Summarize(values);
      v1::ArchWindow* w = m.add_windows();
      w->set_architecture(kOrder[i]);
      w->set_samples(s.count);
      w->set_p50_seconds(s.p50);
      w->set_p95_seconds(s.p95);
      w->set_mean_seconds(s.mean);
      w->set_tail_ratio(s.p50 > 0 ? s.p95 / s.p50 : 0);
      const size_t recent = std::min<size_t>(values.size(), 20);
      for (size_t k = values.size() - recent; k < values.size(); ++k) {
        w->add_recent_seconds(values[k]);
      }
    }
    m.mutable_ratios()->set_centralized(state.ratios.centralized);
    m.mutable_ratios()->set_federated(state.ratios.federated);
    m.mutable_ratios()->set_decentralized(state.ratios.decentralized);
    m.set_requests_per_second(Rate(state, now));
    for (double r : state.rate_log) m.add_rate_log(r);
  }
  return out;
}

}  // namespace fsched::routing
