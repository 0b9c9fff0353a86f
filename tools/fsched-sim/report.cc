#include "tools/fsched-sim/report.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fsched::sim {
namespace {

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
  google::protobuf::Struct root;
  auto* list = (*root.mutable_fields())["runs"].mutable_list_value();
  for (const RunRecord& run : runs) {
    const SimulationResult& r = run.result;
    auto& f = *list->add_values()->mutable_struct_value()->mutable_fields();
    // JSON has no NaN or infinity: a figure that is not finite is null.
    const auto number = [&f](const char* key, double v) {
      if (std::isfinite(v)) {
        f[key].set_number_value(v);
      } else {
        f[key].set_null_value(google::protobuf::NULL_VALUE);
      }
    };
    f["workload"].set_string_value(run.workload);
    number("target_utilisation", run.target_utilisation);
    number("time_scale", run.time_scale);
    number("workers", run.workers);
    number("slots", run.slots);
    f["oracle"].set_bool_value(run.oracle);
    number("cold_start_s", run.cold_start_seconds);
    f["queue_order"].set_string_value(r.queue_order);
    f["placement"].set_string_value(r.placement);
    number("invocations", r.invocations);
    number("utilisation", r.utilisation);
    number("mean_response_s", r.mean_response);
    number("p50_response_s", r.p50_response);
    number("p99_response_s", r.p99_response);
    number("mean_wait_s", r.mean_wait);
    number("p99_wait_s", r.p99_wait);
    number("max_wait_s", r.max_wait);
    number("over_max_wait_fraction", r.over_max_wait_fraction);
    number("mean_slowdown", r.mean_slowdown);
    number("longest_job_s", r.longest_job);
    number("throughput_per_s", r.throughput);
    number("makespan_s", r.makespan);
    number("cold_start_fraction", r.cold_start_fraction);
    number("max_queue", r.max_queue);
    number("predictor_mdape_tsi", r.predictor_mdape_tsi);
    number("predictor_mdape_tsu", r.predictor_mdape_tsu);
    f["cache_partitioning"].set_string_value(r.partitioning);
    number("mean_cache_ways", r.mean_cache_ways);
    number("mean_cache_slowdown", r.mean_cache_slowdown);
    number("wall_s", r.wall_seconds);
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  // A Struct of strings, finite numbers, nulls and lists always prints.
  (void)google::protobuf::util::MessageToJsonString(root, &json, options);
  return json;
}

}  // namespace fsched::sim
