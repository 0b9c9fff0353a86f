#include "tools/fsched-sim/simulator.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <queue>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "scheduling/dispatch.h"
#include "scheduling/placement_policy.h"
#include "scheduling/policy_factory.h"

namespace fsched::sim {
namespace {

using scheduling::DispatchDecision;
using scheduling::PendingInvocation;
using scheduling::WorkerView;

// Placement reads a worker's mean response time over this window (as live).
constexpr double kResponseWindowSeconds = 60;

absl::Time AtSeconds(double t) { return absl::UnixEpoch() + absl::Seconds(t); }

double Percentile(std::vector<float>& values, double q) {
  if (values.empty()) return 0;
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

class Simulation {
 public:
  Simulation(const SimulationOptions& options, std::unique_ptr<scheduling::QueueOrder> order,
             std::unique_ptr<scheduling::PlacementPolicy> placement, ArrivalSource& arrivals)
      : options_(options),
        order_(std::move(order)),
        placement_(std::move(placement)),
        arrivals_(arrivals),
        names_(arrivals.functions()),
        predictor_(options.predictor),
        track_warm_(placement_->name().starts_with("warm-first")),
        max_wait_seconds_(absl::ToDoubleSeconds(options.order_options.max_wait)),
        cache_(options.cache.partitioning != "off") {
    views_.resize(options.workers);
    for (uint32_t w = 0; w < options.workers; ++w) {
      views_[w].id = absl::StrCat("w", w);
      views_[w].slots = views_[w].free_slots = options.slots;
      if (cache_) views_[w].cache_ways_free = options.cache.ways;
    }
    footprints_.assign(options.workers, 0);
    free_cache_ways_ = cache_ ? uint64_t{options.cache.ways} * options.workers : 0;
    if (options.cache.partitioning == "predicted") BenchmarkFunctions();
    idle_.assign(options.workers, std::vector<std::vector<double>>(names_.size()));
    recent_.resize(options.workers);
    recent_sum_.assign(options.workers, 0);
    free_slots_ = static_cast<uint64_t>(options.workers) * options.slots;
    order_->SetCapacity(options.workers * options.slots);
  }

  SimulationResult Run() {
    const auto wall_start = std::chrono::steady_clock::now();
    Arrival next;
    bool more = arrivals_.Next(&next);
    if (more) first_arrival_ = next.time;
    while (more || !completions_.empty()) {
      // A completion at the same instant as an arrival goes first: it frees the slot.
      if (!completions_.empty() && (!more || completions_.top().time <= next.time)) {
        const Completion done = completions_.top();
        completions_.pop();
        Complete(done.job, done.time);
        Dispatch(done.time);
      } else {
        last_arrival_ = next.time;
        Arrive(next);
        Dispatch(next.time);
        more = arrivals_.Next(&next);
      }
    }
    SimulationResult r = Summarize();
    r.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return r;
  }

 private:
  struct Job {
    double arrival = 0;
    double duration = 0;
    uint32_t function = 0;
    uint32_t worker = 0;
    uint32_t want_ways = 0;  // the LLC predictor's answer at arrival
    uint32_t ways = 0;       // partition held while it runs
  };

  // What BenchmarkTask would measure: each function alone at 1..N ways, with
  // noise, fitted by the master's own LLC predictor.
  void BenchmarkFunctions() {
    std::mt19937_64 rng(options_.seed);
    std::normal_distribution<double> noise(0, options_.cache.benchmark_noise);
    const uint32_t n = std::min<uint32_t>(10, options_.cache.ways);
    for (size_t f = 0; f < names_.size(); ++f) {
      const CacheCurve& curve = options_.cache.curves[f];
      std::vector<std::pair<uint32_t, double>> points;
      for (uint32_t x = 1; x <= n; ++x) {
        points.emplace_back(x, curve.mean_seconds * CacheSlowdown(curve, x, options_.cache.ways) *
                                   (1 + noise(rng)));
      }
      (void)llc_.AddBenchmark(names_[f], 0, points);
    }
  }

  // The ways the job runs with, and its worker's cache bookkeeping.
  double TakeCache(Job& job, scheduling::WorkerView& view, uint32_t worker) {
    const CacheModel& m = options_.cache;
    const CacheCurve& curve = m.curves[job.function];
    if (m.partitioning == "none") {
      footprints_[worker] += curve.footprint;
      return std::min<double>(curve.footprint,
                              static_cast<double>(m.ways) * curve.footprint / footprints_[worker]);
    }
    if (m.partitioning == "equal") return std::max(1u, m.ways / options_.slots);
    job.ways = std::min(job.want_ways, view.cache_ways_free);
    view.cache_ways_free -= job.ways;
    free_cache_ways_ -= job.ways;
    // With no ways left it runs in the default group, squeezed into one way.
    return std::max(1u, job.ways);
  }

  void ReturnCache(const Job& job, scheduling::WorkerView& view, uint32_t worker) {
    if (options_.cache.partitioning == "none") {
      footprints_[worker] -= options_.cache.curves[job.function].footprint;
    }
    view.cache_ways_free += job.ways;
    free_cache_ways_ += job.ways;
  }
  struct Completion {
    double time;
    uint32_t job;
    bool operator>(const Completion& o) const { return time > o.time; }
  };

  void Arrive(const Arrival& arrival) {
    uint32_t index;
    if (free_jobs_.empty()) {
      index = static_cast<uint32_t>(jobs_.size());
      jobs_.emplace_back();
    } else {
      index = free_jobs_.back();
      free_jobs_.pop_back();
    }
    Job& job = jobs_[index];
    job.arrival = arrival.time;
    job.duration = arrival.duration;
    job.function = arrival.function;
    job.ways = 0;
    job.want_ways = 0;

    scheduling::PendingInvocation pending;
    pending.id = std::to_string(index);  // unique among live jobs, which is all the order needs
    pending.function = names_[arrival.function];
    pending.enqueued = AtSeconds(arrival.time);
    pending.sequence = sequence_++;
    // The oracle replaces the ordering key only: the starvation guard's
    // backlog counts typical calls as it does live.
    const auto estimate = predictor_.Predict(pending.function, 0);
    pending.typical_seconds = estimate.median;
    if (options_.oracle) {
      pending.predicted_seconds = arrival.duration;
    } else {
      pending.predicted_seconds = estimate.tsu;
      if (arrival.duration > 0) {
        errors_tsi_.push_back(
            static_cast<float>(std::abs(estimate.tsi - arrival.duration) / arrival.duration));
        errors_tsu_.push_back(
            static_cast<float>(std::abs(estimate.tsu - arrival.duration) / arrival.duration));
      }
    }
    if (options_.cache.partitioning == "predicted") {
      absl::StatusOr<scheduling::LlcPredictor::Prediction> p =
          llc_.Predict(pending.function, 0, static_cast<uint32_t>(free_cache_ways_),
                       std::min<uint32_t>(10, options_.cache.ways));
      job.want_ways = p.ok() ? p->ways : 0;
      pending.cache_ways = job.want_ways;
    }
    order_->Push(std::move(pending));
    max_queue_ = std::max<uint64_t>(max_queue_, order_->size());
  }

  void Dispatch(double now) {
    if (free_slots_ == 0 || order_->size() == 0) return;
    const absl::Time at = AtSeconds(now);
    const auto any_capable = [](v1::RuntimeKind) { return true; };
    while (free_slots_ > 0) {
      scheduling::DispatchDecision decision =
          scheduling::NextDispatch(*order_, *placement_, views_, at, any_capable);
      if (decision.kind != scheduling::DispatchDecision::Kind::kPlace) break;
      uint32_t index = 0;
      const std::string& id = decision.pending.id;
      std::from_chars(id.data(), id.data() + id.size(), index);
      Start(index, static_cast<uint32_t>(decision.worker), now);
    }
  }

  void Start(uint32_t index, uint32_t worker, double now) {
    Job& job = jobs_[index];
    job.worker = worker;
    scheduling::WorkerView& view = views_[worker];
    --view.free_slots;
    --free_slots_;
    view.load1 = view.slots - view.free_slots;
    view.cpu_percent = 100.0 * view.load1 / view.slots;

    // Warm if the most recently idled instance is still alive (older ones expire first).
    std::vector<double>& idle = idle_[worker][job.function];
    double cold = options_.cold_start_seconds;
    if (!idle.empty() && idle.back() >= now) {
      idle.pop_back();
      cold = 0;
    } else {
      idle.clear();
      ++cold_starts_;
    }
    if (track_warm_) SetWarm(worker, job.function);

    if (cache_) {
      const double ways = TakeCache(job, view, worker);
      const double slowdown =
          CacheSlowdown(options_.cache.curves[job.function], ways, options_.cache.ways);
      job.duration *= slowdown;
      cache_ways_sum_ += ways;
      cache_slowdown_sum_ += slowdown;
    }
    const double wait = now - job.arrival;
    waits_.push_back(static_cast<float>(wait));
    wait_sum_ += wait;
    max_wait_ = std::max(max_wait_, wait);
    if (wait > max_wait_seconds_) ++over_max_wait_;
    completions_.push({now + cold + job.duration, index});
  }

  void Complete(uint32_t index, double now) {
    const Job job = jobs_[index];
    free_jobs_.push_back(index);
    scheduling::WorkerView& view = views_[job.worker];
    if (cache_) ReturnCache(job, view, job.worker);
    ++view.free_slots;
    ++free_slots_;
    view.load1 = view.slots - view.free_slots;
    view.cpu_percent = 100.0 * view.load1 / view.slots;
    idle_[job.worker][job.function].push_back(now + options_.keep_alive_seconds);
    if (track_warm_) SetWarm(job.worker, job.function);

    const double response = now - job.arrival;
    RecordResponse(job.worker, now, response);
    responses_.push_back(static_cast<float>(response));
    response_sum_ += response;
    slowdown_sum_ += response / std::max(job.duration, kMinDurationSeconds);
    busy_sum_ += job.duration;
    longest_ = std::max(longest_, job.duration);
    last_completion_ = now;
    predictor_.Observe(names_[job.function], 0, job.duration);
  }

  void RecordResponse(uint32_t worker, double now, double response) {
    auto& window = recent_[worker];
    window.emplace_back(now, response);
    recent_sum_[worker] += response;
    while (window.front().first < now - kResponseWindowSeconds) {
      recent_sum_[worker] -= window.front().second;
      window.pop_front();
    }
    views_[worker].response_samples = window.size();
    views_[worker].mean_response_seconds = recent_sum_[worker] / window.size();
  }

  void SetWarm(uint32_t worker, uint32_t function) {
    const uint32_t count = static_cast<uint32_t>(idle_[worker][function].size());
    auto& warm = views_[worker].warm;
    for (auto it = warm.begin(); it != warm.end(); ++it) {
      if (it->function() == names_[function]) {
        if (count == 0) {
          warm.erase(it);
        } else {
          it->set_count(count);
        }
        return;
      }
    }
    if (count == 0) return;
    v1::WarmInstance& added = warm.emplace_back();
    added.set_function(names_[function]);
    added.set_mode(v1::EXECUTION_MODE_WARM);
    added.set_count(count);
  }

  SimulationResult Summarize() {
    SimulationResult r;
    r.queue_order = std::string(order_->name());
    r.placement = std::string(placement_->name());
    r.invocations = responses_.size();
    if (r.invocations == 0) return r;
    const double n = static_cast<double>(r.invocations);
    r.mean_response = response_sum_ / n;
    r.mean_wait = wait_sum_ / n;
    r.max_wait = max_wait_;
    r.over_max_wait_fraction = static_cast<double>(over_max_wait_) / n;
    r.mean_slowdown = slowdown_sum_ / n;
    r.longest_job = longest_;
    r.makespan = last_completion_ - first_arrival_;
    r.throughput = r.makespan > 0 ? n / r.makespan : 0;
    const double span = last_arrival_ - first_arrival_;
    const double capacity = static_cast<double>(options_.workers) * options_.slots;
    r.utilisation = span > 0 ? busy_sum_ / (capacity * span) : 0;
    r.cold_start_fraction = static_cast<double>(cold_starts_) / n;
    r.max_queue = max_queue_;
    r.p50_response = Percentile(responses_, 0.50);
    r.p99_response = Percentile(responses_, 0.99);
    r.p99_wait = Percentile(waits_, 0.99);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    r.predictor_mdape_tsi = options_.oracle ? nan : Percentile(errors_tsi_, 0.5);
    r.predictor_mdape_tsu = options_.oracle ? nan : Percentile(errors_tsu_, 0.5);
    r.partitioning = options_.cache.partitioning;
    if (cache_) {
      r.mean_cache_ways = cache_ways_sum_ / n;
      r.mean_cache_slowdown = cache_slowdown_sum_ / n;
    }
    return r;
  }

  const SimulationOptions& options_;
  std::unique_ptr<scheduling::QueueOrder> order_;
  std::unique_ptr<scheduling::PlacementPolicy> placement_;
  ArrivalSource& arrivals_;
  const std::vector<std::string>& names_;
  scheduling::RuntimePredictor predictor_;
  const bool track_warm_;  // only warm-first reads the warm lists; keeping them costs time
  const double max_wait_seconds_;
  const bool cache_;  // the cache model is on
  scheduling::LlcPredictor llc_;
  std::vector<uint64_t> footprints_;  // [worker]: of its running jobs ("none")
  uint64_t free_cache_ways_ = 0;      // over all workers ("predicted")
  double cache_ways_sum_ = 0, cache_slowdown_sum_ = 0;

  std::vector<scheduling::WorkerView> views_;
  std::vector<std::vector<std::vector<double>>> idle_;  // [worker][function]: expiry, oldest first
  std::vector<std::deque<std::pair<double, double>>> recent_;  // [worker]: (time, response)
  std::vector<double> recent_sum_;
  uint64_t free_slots_ = 0;

  std::vector<Job> jobs_;
  std::vector<uint32_t> free_jobs_;
  std::priority_queue<Completion, std::vector<Completion>, std::greater<Completion>> completions_;
  uint64_t sequence_ = 0;

  std::vector<float> responses_, waits_, errors_tsi_, errors_tsu_;
  double response_sum_ = 0, wait_sum_ = 0, slowdown_sum_ = 0, busy_sum_ = 0;
  double max_wait_ = 0, longest_ = 0;
  double first_arrival_ = 0, last_arrival_ = 0, last_completion_ = 0;
  uint64_t cold_starts_ = 0, max_queue_ = 0, over_max_wait_ = 0;
};

}  // namespace

absl::StatusOr<SimulationResult> Simulate(const SimulationOptions& options,
                                          ArrivalSource& arrivals) {
  if (options.workers == 0 || options.slots == 0) {
    return absl::InvalidArgumentError(
        "the simulated cluster needs at least one worker and one slot");
  }
  if (absl::Status s = ValidatePartitioning(options.cache.partitioning); !s.ok()) return s;
  if (options.cache.partitioning != "off" &&
      (options.cache.curves.size() != arrivals.functions().size() || options.cache.ways == 0 ||
       options.cache.ways > 64)) {
    return absl::InvalidArgumentError(
        "the cache model needs one curve per function and 1 to 64 ways per worker");
  }
  auto order = scheduling::MakeQueueOrder(options.queue_order, options.order_options);
  if (!order.ok()) return order.status();
  auto placement = scheduling::MakePlacementPolicy(options.placement, options.seed);
  if (!placement.ok()) return placement.status();
  Simulation simulation(options, *std::move(order), *std::move(placement), arrivals);
  return simulation.Run();
}

}  // namespace fsched::sim
