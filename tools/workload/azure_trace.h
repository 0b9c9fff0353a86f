// Readers for the Azure Functions public traces in ../shared/data layout: the
// 2019 per-minute invocation counts with per-function duration percentiles,
// and the 2021 per-invocation rows. A malformed row is skipped and counted,
// never fatal; a file that cannot be read, or holds no usable row, is an error.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace fsched::workload {

/// What a reader skipped, so a caller can say so instead of hiding it.
struct ParseReport {
  uint64_t rows = 0;                  // data rows read (header excluded)
  uint64_t skipped = 0;               // rows not used
  std::vector<std::string> examples;  // the first few reasons, "file:line: why"

  void Skip(const std::string& where, uint64_t line, const std::string& why);
};

/// A duration distribution given by quantiles: the inverse CDF is linear
/// between the given points, so sampling is one uniform draw.
class DurationDistribution {
 public:
  DurationDistribution() = default;
  /// \param points (quantile in [0, 1], seconds); quantiles strictly increasing from 0 to 1,
  ///        seconds non-negative and non-decreasing. INVALID_ARGUMENT otherwise.
  static absl::StatusOr<DurationDistribution> FromQuantiles(
      std::vector<std::pair<double, double>> points);

  /// \return the duration at quantile `u` in [0, 1], in seconds.
  double Quantile(double u) const;
  /// \return the mean of the distribution, in seconds.
  double Mean() const { return mean_; }

 private:
  std::vector<std::pair<double, double>> points_;
  double mean_ = 0;
};

struct Azure2019Function {
  std::string owner, app, function, trigger;  // the trace's hashes and trigger kind
  std::vector<uint32_t> per_minute;           // invocations in each minute of the window
  uint64_t total = 0;
  DurationDistribution duration;  // from the day's percentiles of 30-second averages
};

struct Azure2019Trace {
  int first_minute = 0;  // label of the first minute column (480 for an 8-hour window from 08:00)
  size_t minutes = 0;
  std::vector<Azure2019Function> functions;
  uint64_t total_invocations = 0;
  ParseReport invocations;
  ParseReport durations;
  uint64_t without_durations = 0;  // invoked functions with no duration row (dropped)
};

/// Reads `directory`/invocations.csv and `directory`/durations.csv.
absl::StatusOr<Azure2019Trace> LoadAzure2019(const std::string& directory);

struct Azure2021Invocation {
  double arrival = 0;   // seconds since the earliest arrival in the file
  double duration = 0;  // seconds
  uint32_t function = 0;
};

struct Azure2021Trace {
  std::vector<std::string> functions;  // "app/func": func ids are unique only within an app
  std::vector<Azure2021Invocation> invocations;  // sorted by arrival
  ParseReport report;
};

/// Reads a 2021 per-invocation file (app,func,end_timestamp,duration; any row order).
absl::StatusOr<Azure2021Trace> LoadAzure2021(const std::string& path);

}  // namespace fsched::workload
