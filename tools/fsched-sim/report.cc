#include "tools/fsched-sim/report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fsched::sim {
namespace {

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.6g", v);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Percent(double fraction) {
  return std::isfinite(fraction) ? absl::StrFormat("%.1f%%", 100 * fraction) : "-";
}

}  // namespace

std::string FormatTable(const std::vector<RunRecord>& runs) {
  std::string out = absl::StrFormat(
      "%-5s %-5s %-11s %-13s %11s %8s %8s %8s %8s %9s %9s %7s %8s %6s %6s %10s\n", "util", "real",
      "order", "placement", "invocations", "mean_s", "p50_s", "p99_s", "wait_s", "slowdown",
      "max_wait", ">max_w", "thru/s", "cold", "mdape", "sim_inv/s");
  bool cache = false;
  for (const RunRecord& run : runs) cache |= run.result.partitioning != "off";
  if (cache) {
    out.insert(out.find('\n'), absl::StrFormat(" %-9s %5s %7s", "cache", "ways", "cache_x"));
  }
  for (const RunRecord& run : runs) {
    const SimulationResult& r = run.result;
    const double speed = r.wall_seconds > 0 ? r.invocations / r.wall_seconds : 0;
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-5s %-5.2f %-11s %-13s %11d %8.3f %8.3f %8.2f %8.3f %9.2f %9.2f %7s %8.2f %6s "
                  "%6s %10.0f\n",
                  run.target_utilisation > 0 ? absl::StrFormat("%.2f", run.target_utilisation)
                                             : std::string("trace"),
                  r.utilisation, r.queue_order, r.placement, r.invocations, r.mean_response,
                  r.p50_response, r.p99_response, r.mean_wait, r.mean_slowdown, r.max_wait,
                  Percent(r.over_max_wait_fraction), r.throughput, Percent(r.cold_start_fraction),
                  Percent(r.predictor_mdape_tsi), speed));
    if (cache) {
      out.insert(out.size() - 1, absl::StrFormat(" %-9s %5.1f %7.2f", r.partitioning,
                                                 r.mean_cache_ways, r.mean_cache_slowdown));
    }
  }
  return out;
}

std::string FormatJson(const std::vector<RunRecord>& runs) {
  std::string out = "{\"runs\": [";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& run = runs[i];
    const SimulationResult& r = run.result;
    absl::StrAppend(
        &out, i == 0 ? "\n" : ",\n", "  {", "\"workload\": ", JsonString(run.workload),
        ", \"target_utilisation\": ", JsonNumber(run.target_utilisation),
        ", \"time_scale\": ", JsonNumber(run.time_scale), ", \"workers\": ", run.workers,
        ", \"slots\": ", run.slots, ", \"oracle\": ", run.oracle ? "true" : "false",
        ", \"cold_start_s\": ", JsonNumber(run.cold_start_seconds),
        ", \"queue_order\": ", JsonString(r.queue_order),
        ", \"placement\": ", JsonString(r.placement), ", \"invocations\": ", r.invocations,
        ", \"utilisation\": ", JsonNumber(r.utilisation),
        ", \"mean_response_s\": ", JsonNumber(r.mean_response),
        ", \"p50_response_s\": ", JsonNumber(r.p50_response),
        ", \"p99_response_s\": ", JsonNumber(r.p99_response));
    absl::StrAppend(&out, ", \"mean_wait_s\": ", JsonNumber(r.mean_wait),
                    ", \"p99_wait_s\": ", JsonNumber(r.p99_wait),
                    ", \"max_wait_s\": ", JsonNumber(r.max_wait),
                    ", \"over_max_wait_fraction\": ", JsonNumber(r.over_max_wait_fraction),
                    ", \"mean_slowdown\": ", JsonNumber(r.mean_slowdown),
                    ", \"longest_job_s\": ", JsonNumber(r.longest_job),
                    ", \"throughput_per_s\": ", JsonNumber(r.throughput),
                    ", \"makespan_s\": ", JsonNumber(r.makespan),
                    ", \"cold_start_fraction\": ", JsonNumber(r.cold_start_fraction),
                    ", \"max_queue\": ", r.max_queue,
                    ", \"predictor_mdape_tsi\": ", JsonNumber(r.predictor_mdape_tsi),
                    ", \"predictor_mdape_tsu\": ", JsonNumber(r.predictor_mdape_tsu),
                    ", \"cache_partitioning\": ", JsonString(r.partitioning),
                    ", \"mean_cache_ways\": ", JsonNumber(r.mean_cache_ways),
                    ", \"mean_cache_slowdown\": ", JsonNumber(r.mean_cache_slowdown),
                    ", \"wall_s\": ", JsonNumber(r.wall_seconds), "}");
  }
  return out + "\n]}\n";
}

}  // namespace fsched::sim
