#include "tools/workload/azure_trace.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace fsched::workload {
namespace {

constexpr size_t kMaxExamples = 5;

std::vector<absl::string_view> SplitCsv(absl::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return absl::StrSplit(line, ',');
}

absl::Status CannotRead(const std::string& path) {
  return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
}

absl::Status NothingUsable(const std::string& path, const ParseReport& report) {
  std::string why = report.examples.empty() ? "" : absl::StrCat(" (e.g. ", report.examples[0], ")");
  return absl::InvalidArgumentError(absl::StrCat("'", path, "' has no usable row: ", report.rows,
                                                 " read, ", report.skipped, " skipped", why));
}

// One CSV file read row by row: the header first, then each non-empty data
// row with exactly the expected number of fields; other rows are skipped into
// the report with their line number.
class CsvRows {
 public:
  CsvRows(std::string path, ParseReport* report)
      : path_(std::move(path)), in_(path_), report_(report) {}
  /// NOT_FOUND if unreadable, INVALID_ARGUMENT if empty.
  absl::Status ReadHeader() {
    if (!in_) return CannotRead(path_);
    if (!std::getline(in_, header_line_)) return NothingUsable();
    header_ = SplitCsv(header_line_);
    return absl::OkStatus();
  }
  const std::vector<absl::string_view>& header() const { return header_; }
  /// The next row with `width` fields (0: as many as the header); false at the end.
  bool Next(size_t width, std::vector<absl::string_view>* fields) {
    if (width == 0) width = header_.size();
    while (std::getline(in_, line_)) {
      ++number_;
      if (line_.empty()) continue;
      ++report_->rows;
      *fields = SplitCsv(line_);
      if (fields->size() == width) return true;
      Skip(absl::StrCat(fields->size(), " fields, expected ", width));
    }
    return false;
  }
  /// Skips the row Next returned.
  void Skip(const std::string& why) { report_->Skip(path_, number_, why); }
  absl::Status NothingUsable() const { return fsched::workload::NothingUsable(path_, *report_); }
  absl::Status BadHeader(const std::string& expected) const {
    return absl::InvalidArgumentError(absl::StrCat("'", path_, "': header must be ", expected));
  }

 private:
  const std::string path_;
  std::ifstream in_;
  ParseReport* const report_;
  std::string header_line_, line_;
  std::vector<absl::string_view> header_;
  uint64_t number_ = 1;  // the header is line 1
};

std::string FunctionKey(absl::string_view owner, absl::string_view app, absl::string_view fn) {
  return absl::StrCat(owner, "/", app, "/", fn);
}

}  // namespace

void ParseReport::Skip(const std::string& where, uint64_t line, const std::string& why) {
  ++skipped;
  if (examples.size() < kMaxExamples) examples.push_back(absl::StrCat(where, ":", line, ": ", why));
}

absl::StatusOr<DurationDistribution> DurationDistribution::FromQuantiles(
    std::vector<std::pair<double, double>> points) {
  if (points.size() < 2 || points.front().first != 0 || points.back().first != 1) {
    return absl::InvalidArgumentError("quantiles must run from 0 to 1");
  }
  for (size_t i = 0; i < points.size(); ++i) {
    const auto [q, v] = points[i];
    if (!std::isfinite(v) || v < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("duration ", v, " is not a non-negative number"));
    }
    if (i > 0 && (q <= points[i - 1].first || v < points[i - 1].second)) {
      return absl::InvalidArgumentError("quantiles must increase and durations must not decrease");
    }
  }
  DurationDistribution d;
  d.points_ = std::move(points);
  // The mean of a piecewise-linear inverse CDF: trapezoids over the quantile axis.
  for (size_t i = 1; i < d.points_.size(); ++i) {
    const auto& [q0, v0] = d.points_[i - 1];
    const auto& [q1, v1] = d.points_[i];
    d.mean_ += (q1 - q0) * (v0 + v1) / 2;
  }
  return d;
}

double DurationDistribution::Quantile(double u) const {
  if (points_.empty()) return 0;
  u = std::clamp(u, 0.0, 1.0);
  auto hi = std::lower_bound(points_.begin(), points_.end(), u,
                             [](const auto& p, double value) { return p.first < value; });
  if (hi == points_.begin()) return hi->second;
  if (hi == points_.end()) return points_.back().second;
  const auto lo = hi - 1;
  const double t = (u - lo->first) / (hi->first - lo->first);
  return lo->second + t * (hi->second - lo->second);
}

absl::StatusOr<Azure2019Trace> LoadAzure2019(const std::string& directory) {
  Azure2019Trace trace;
  // Durations first, keyed by owner/app/function, so invocation rows can join them.
  absl::flat_hash_map<std::string, DurationDistribution> durations;
  {
    CsvRows csv(directory + "/durations.csv", &trace.durations);
    if (absl::Status header = csv.ReadHeader(); !header.ok()) return header;
    // percentile_Average_{0,1,25,50,75,99,100} are the last seven columns (ms).
    constexpr double kQuantiles[] = {0, 0.01, 0.25, 0.5, 0.75, 0.99, 1};
    std::vector<absl::string_view> fields;
    while (csv.Next(14, &fields)) {
      std::vector<std::pair<double, double>> points;
      bool numeric = true;
      for (int i = 0; i < 7 && numeric; ++i) {
        double ms = 0;
        numeric = absl::SimpleAtod(fields[7 + i], &ms);
        points.emplace_back(kQuantiles[i], ms / 1000);
      }
      if (!numeric) {
        csv.Skip("a percentile is not a number");
        continue;
      }
      auto dist = DurationDistribution::FromQuantiles(std::move(points));
      if (!dist.ok()) {
        csv.Skip(std::string(dist.status().message()));
        continue;
      }
      durations[FunctionKey(fields[0], fields[1], fields[2])] = *std::move(dist);
    }
    if (durations.empty()) return csv.NothingUsable();
  }

  CsvRows csv(directory + "/invocations.csv", &trace.invocations);
  if (absl::Status header = csv.ReadHeader(); !header.ok()) return header;
  if (csv.header().size() < 5 || !absl::SimpleAtoi(csv.header()[4], &trace.first_minute)) {
    return csv.BadHeader("HashOwner,HashApp,HashFunction,Trigger,<minute columns>");
  }
  trace.minutes = csv.header().size() - 4;
  std::vector<absl::string_view> fields;
  while (csv.Next(0, &fields)) {
    Azure2019Function fn;
    fn.per_minute.reserve(trace.minutes);
    bool numeric = true;
    for (size_t i = 4; i < fields.size() && numeric; ++i) {
      uint32_t count = 0;
      numeric = absl::SimpleAtoi(fields[i], &count);
      fn.per_minute.push_back(count);
      fn.total += count;
    }
    if (!numeric) {
      csv.Skip("a minute count is not a non-negative integer");
      continue;
    }
    auto duration = durations.find(FunctionKey(fields[0], fields[1], fields[2]));
    if (duration == durations.end()) {
      ++trace.without_durations;
      csv.Skip("no row in durations.csv for this function");
      continue;
    }
    fn.owner = std::string(fields[0]);
    fn.app = std::string(fields[1]);
    fn.function = std::string(fields[2]);
    fn.trigger = std::string(fields[3]);
    fn.duration = duration->second;
    trace.total_invocations += fn.total;
    trace.functions.push_back(std::move(fn));
  }
  if (trace.functions.empty()) return csv.NothingUsable();
  return trace;
}

absl::StatusOr<Azure2021Trace> LoadAzure2021(const std::string& path) {
  Azure2021Trace trace;
  CsvRows csv(path, &trace.report);
  if (absl::Status header = csv.ReadHeader(); !header.ok()) return header;
  const auto& header = csv.header();
  if (header.size() != 4 || header[0] != "app" || header[1] != "func" ||
      header[2] != "end_timestamp" || header[3] != "duration") {
    return csv.BadHeader("app,func,end_timestamp,duration");
  }
  absl::flat_hash_map<std::string, uint32_t> index;
  std::vector<absl::string_view> fields;
  while (csv.Next(4, &fields)) {
    double end = 0, duration = 0;
    if (!absl::SimpleAtod(fields[2], &end) || !absl::SimpleAtod(fields[3], &duration) ||
        !std::isfinite(end) || !std::isfinite(duration) || duration < 0 || end < duration) {
      csv.Skip("end_timestamp and duration must be numbers, 0 <= duration <= end");
      continue;
    }
    const std::string key = absl::StrCat(fields[0], "/", fields[1]);
    auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(trace.functions.size()));
    if (inserted) trace.functions.push_back(key);
    trace.invocations.push_back({end - duration, duration, it->second});
  }
  if (trace.invocations.empty()) return csv.NothingUsable();
  std::stable_sort(trace.invocations.begin(), trace.invocations.end(),
                   [](const auto& a, const auto& b) { return a.arrival < b.arrival; });
  const double origin = trace.invocations.front().arrival;
  for (auto& invocation : trace.invocations) invocation.arrival -= origin;
  return trace;
}

}  // namespace fsched::workload
