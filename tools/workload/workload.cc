#include "tools/workload/workload.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace fsched::workload {

std::vector<std::string> ShortNames(size_t count) {
  std::vector<std::string> names;
  names.reserve(count);
  for (size_t i = 0; i < count; ++i) names.push_back(absl::StrCat("f", i));
  return names;
}

double OfferedLoad(const Azure2019Trace& trace) {
  double work = 0;
  for (const Azure2019Function& fn : trace.functions) {
    work += static_cast<double>(fn.total) * std::max(fn.duration.Mean(), kMinDurationSeconds);
  }
  return trace.minutes == 0 ? 0 : work / (static_cast<double>(trace.minutes) * 60);
}

double OfferedLoad(const Azure2021Trace& trace) {
  double work = 0;
  for (const Azure2021Invocation& inv : trace.invocations) {
    work += std::max(inv.duration, kMinDurationSeconds);
  }
  const double span = trace.invocations.empty() ? 0 : trace.invocations.back().arrival;
  return span <= 0 ? 0 : work / span;
}

double TimeScaleFor(double offered_load, uint32_t capacity, double utilisation) {
  if (offered_load <= 0 || capacity == 0 || utilisation <= 0) return 1;
  return offered_load / (utilisation * capacity);
}

Azure2019Source::Azure2019Source(const Azure2019Trace* trace, double time_scale, uint64_t seed)
    : trace_(trace),
      time_scale_(time_scale),
      rng_(seed),
      names_(ShortNames(trace->functions.size())) {}

void Azure2019Source::FillMinute() {
  buffer_.clear();
  position_ = 0;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double start = static_cast<double>(minute_) * 60;
  for (uint32_t f = 0; f < trace_->functions.size(); ++f) {
    const Azure2019Function& fn = trace_->functions[f];
    for (uint32_t i = 0; i < fn.per_minute[minute_]; ++i) {
      Arrival a;
      a.function = f;
      a.time = start + 60 * unit(rng_);
      a.duration = std::max(fn.duration.Quantile(unit(rng_)), kMinDurationSeconds);
      buffer_.push_back(a);
    }
  }
  std::sort(buffer_.begin(), buffer_.end(),
            [](const Arrival& a, const Arrival& b) { return a.time < b.time; });
  for (Arrival& a : buffer_) a.time *= time_scale_;
  ++minute_;
}

bool Azure2019Source::Next(Arrival* arrival) {
  while (position_ == buffer_.size()) {
    if (minute_ >= trace_->minutes) return false;
    FillMinute();
  }
  *arrival = buffer_[position_++];
  return true;
}

Azure2021Source::Azure2021Source(const Azure2021Trace* trace, double time_scale)
    : trace_(trace), time_scale_(time_scale), names_(ShortNames(trace->functions.size())) {}

bool Azure2021Source::Next(Arrival* arrival) {
  if (position_ == trace_->invocations.size()) return false;
  const Azure2021Invocation& inv = trace_->invocations[position_++];
  arrival->time = inv.arrival * time_scale_;
  arrival->duration = std::max(inv.duration, kMinDurationSeconds);
  arrival->function = inv.function;
  return true;
}

PoissonSource::PoissonSource(double rate, double mean_seconds, uint64_t count, uint64_t seed)
    : rng_(seed), gap_(rate), service_(1.0 / mean_seconds), left_(count) {}

bool PoissonSource::Next(Arrival* arrival) {
  if (left_ == 0) return false;
  --left_;
  now_ += gap_(rng_);
  arrival->time = now_;
  arrival->duration = service_(rng_);
  arrival->function = 0;
  return true;
}

namespace {

void NoteSkipped(const std::string& what, const ParseReport& report,
                 std::vector<std::string>* warnings) {
  if (report.skipped == 0) return;
  warnings->push_back(absl::StrCat(what, ": skipped ", report.skipped, " of ", report.rows,
                                   " rows, e.g. ", report.examples.front()));
}

}  // namespace

std::unique_ptr<ArrivalSource> LoadedTrace::Source(double time_scale, uint64_t seed) const {
  if (is2019) return std::make_unique<Azure2019Source>(&trace2019, time_scale, seed);
  return std::make_unique<Azure2021Source>(&trace2021, time_scale);
}

absl::StatusOr<LoadedTrace> LoadTrace(const std::string& path) {
  LoadedTrace t;
  t.name = std::filesystem::path(path).filename().string();
  if (t.name.empty()) t.name = std::filesystem::path(path).parent_path().filename().string();
  if (std::filesystem::is_directory(path)) {
    auto loaded = LoadAzure2019(path);
    if (!loaded.ok()) return loaded.status();
    t.trace2019 = *std::move(loaded);
    t.is2019 = true;
    NoteSkipped("durations.csv", t.trace2019.durations, &t.warnings);
    NoteSkipped("invocations.csv", t.trace2019.invocations, &t.warnings);
    t.offered_load = OfferedLoad(t.trace2019);
  } else {
    auto loaded = LoadAzure2021(path);
    if (!loaded.ok()) return loaded.status();
    t.trace2021 = *std::move(loaded);
    NoteSkipped(t.name, t.trace2021.report, &t.warnings);
    t.offered_load = OfferedLoad(t.trace2021);
  }
  return t;
}

}  // namespace fsched::workload
