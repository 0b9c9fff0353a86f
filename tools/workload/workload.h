// Arrival streams for the simulator: each yields invocations in time order
// with their true duration. The scheduler never sees that duration unless the
// simulation runs in oracle mode; the predictor learns it only on completion.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tools/workload/azure_trace.h"

namespace fsched::workload {

struct Arrival {
  double time = 0;      // seconds of virtual time
  double duration = 0;  // seconds of execution, cold start excluded
  uint32_t function = 0;
};

class ArrivalSource {
 public:
  virtual ~ArrivalSource() = default;
  /// \return false when the stream is exhausted.
  virtual bool Next(Arrival* arrival) = 0;
  /// Names of the functions, indexed by Arrival::function.
  virtual const std::vector<std::string>& functions() const = 0;
};

/// Durations below this are raised to it: the 2019 trace rounds to whole
/// milliseconds, so a 0 means "under a millisecond", not "free".
inline constexpr double kMinDurationSeconds = 0.001;

/// Busy slot-seconds offered per second of trace time (λ·E[S]), before scaling.
double OfferedLoad(const Azure2019Trace& trace);
double OfferedLoad(const Azure2021Trace& trace);

/// Time stretch that makes `offered_load` fill `capacity` slots to `utilisation`.
double TimeScaleFor(double offered_load, uint32_t capacity, double utilisation);

/// Replays a 2019 trace minute by minute: each minute's invocations of a
/// function fall uniformly at random inside it, and each duration is drawn
/// from the function's percentile curve. Arrival times are multiplied by
/// `time_scale`. Memory stays at one minute of arrivals.
class Azure2019Source final : public ArrivalSource {
 public:
  Azure2019Source(const Azure2019Trace* trace, double time_scale, uint64_t seed);
  bool Next(Arrival* arrival) override;
  const std::vector<std::string>& functions() const override { return names_; }

 private:
  void FillMinute();

  const Azure2019Trace* const trace_;
  const double time_scale_;
  std::mt19937_64 rng_;
  std::vector<std::string> names_;
  size_t minute_ = 0;
  std::vector<Arrival> buffer_;
  size_t position_ = 0;
};

/// Replays a 2021 trace (its arrivals multiplied by `time_scale`).
class Azure2021Source final : public ArrivalSource {
 public:
  Azure2021Source(const Azure2021Trace* trace, double time_scale);
  bool Next(Arrival* arrival) override;
  const std::vector<std::string>& functions() const override { return names_; }

 private:
  const Azure2021Trace* const trace_;
  const double time_scale_;
  std::vector<std::string> names_;
  size_t position_ = 0;
};

/// M/M/·: Poisson arrivals at `rate` per second, exponential durations with
/// mean `mean_seconds`, one function, `count` invocations. For checks against
/// queueing theory (Erlang C).
class PoissonSource final : public ArrivalSource {
 public:
  PoissonSource(double rate, double mean_seconds, uint64_t count, uint64_t seed);
  bool Next(Arrival* arrival) override;
  const std::vector<std::string>& functions() const override { return names_; }

 private:
  std::mt19937_64 rng_;
  std::exponential_distribution<double> gap_;
  std::exponential_distribution<double> service_;
  uint64_t left_;
  double now_ = 0;
  std::vector<std::string> names_{"mm"};
};

/// A trace loaded whichever Azure format `path` is: a directory is the 2019
/// layout, a file the 2021 one.
struct LoadedTrace {
  std::string name;  // the path's last component
  bool is2019 = false;
  Azure2019Trace trace2019;
  Azure2021Trace trace2021;
  double offered_load = 0;            // OfferedLoad of whichever was read
  std::vector<std::string> warnings;  // "file: skipped N of M rows, e.g. ..." per file

  /// Arrival stream over the trace, times multiplied by `time_scale`.
  std::unique_ptr<ArrivalSource> Source(double time_scale, uint64_t seed) const;
};
absl::StatusOr<LoadedTrace> LoadTrace(const std::string& path);

/// Short names for the simulator ("f0", "f1", ...): the trace hashes are 64
/// characters and the names are keys on the hot path.
std::vector<std::string> ShortNames(size_t count);

}  // namespace fsched::workload
