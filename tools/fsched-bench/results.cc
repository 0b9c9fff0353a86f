#include "tools/fsched-bench/results.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "common/quantiles.h"

namespace fsched::bench {
namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// "EXECUTION_MODE_WARM" -> "warm": short values for tables and plot legends.
std::string Short(const std::string& enum_name, std::string_view prefix) {
  std::string_view v = enum_name;
  if (v.substr(0, prefix.size()) == prefix) v.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(std::string(v));
}

double UnixSeconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

GroupStats Stats(const std::vector<const Sample*>& group, const std::string& function,
                 double deadline, const std::string& mode = "") {
  GroupStats g;
  g.deadline = deadline;
  g.function = function;
  g.mode = mode;
  const Sample& first = *group.front();
  g.shape = first.shape;
  g.offered_rps = first.offered_rps;
  g.users = first.users;
  std::vector<double> latencies, overheads, lags;
  double queue = 0, cold = 0, exec = 0;
  absl::Time begin = absl::InfiniteFuture(), end = absl::InfinitePast();
  absl::Time first_send = absl::InfiniteFuture(), last_send = absl::InfinitePast();
  for (const Sample* s : group) {
    if (!s->sent) continue;
    if (s->scheduled_send) {
      lags.push_back(absl::ToDoubleSeconds(s->sent_at - s->scheduled));
      first_send = std::min(first_send, s->sent_at);
      last_send = std::max(last_send, s->sent_at);
    }
    if (s->warmup) {
      ++g.warmup;
      continue;
    }
    if (s->abandoned) {
      ++g.abandoned;
      continue;
    }
    ++g.count;
    if (deadline > 0 && (s->rpc_code != 0 || s->result.outcome() != v1::OUTCOME_OK ||
                         s->client_latency > deadline)) {
      ++g.deadline_missed;
    }
    begin = std::min(begin, s->sent_at);
    end = std::max(end, s->sent_at + absl::Seconds(s->client_latency));
    if (s->rpc_code != 0) {
      ++g.rpc_failed;
      if (g.first_failure.empty()) g.first_failure = absl::StrCat("rpc: ", s->rpc_message);
      continue;
    }
    latencies.push_back(s->client_latency);
    queue += ToSeconds(s->result.timings().queue_wait());
    cold += ToSeconds(s->result.timings().cold_start());
    exec += ToSeconds(s->result.timings().execution());
    overheads.push_back(s->client_latency - ToSeconds(s->result.timings().execution()));
    if (s->result.outcome() == v1::OUTCOME_OK) {
      ++g.succeeded;
    } else {
      ++g.function_failed;
      if (g.first_failure.empty()) {
        g.first_failure =
            absl::StrCat(v1::Outcome_Name(s->result.outcome()), ": ", s->result.message());
      }
    }
  }
  if (!lags.empty()) {
    g.open_loop = true;
    if (lags.size() > 1 && last_send > first_send) {
      g.sent_rps =
          static_cast<double>(lags.size() - 1) / absl::ToDoubleSeconds(last_send - first_send);
    }
    const Summary l = Summarize(std::move(lags));
    g.send_lag_p99 = l.p99;
    g.send_lag_max = l.max;
  }
  if (g.count > 0) g.elapsed = absl::ToDoubleSeconds(end - begin);
  if (g.count > 0) g.deadline_miss_rate = static_cast<double>(g.deadline_missed) / g.count;
  if (g.elapsed > 0) g.throughput = g.succeeded / g.elapsed;
  if (!latencies.empty()) {
    const double n = static_cast<double>(latencies.size());
    g.queue_wait_mean = queue / n;
    g.cold_start_mean = cold / n;
    g.execution_mean = exec / n;
    const Summary o = Summarize(std::move(overheads));
    g.overhead_p50 = o.p50;
    g.overhead_p99 = o.p99;
    const Summary s = Summarize(std::move(latencies));
    g.mean = s.mean;
    g.p50 = s.p50;
    g.p90 = s.p90;
    g.p95 = s.p95;
    g.p99 = s.p99;
    g.max = s.max;
  }
  return g;
}

std::string Title(const GroupStats& g) {
  std::string title = g.shape;
  if (!g.function.empty()) absl::StrAppend(&title, ", function ", g.function);
  if (!g.mode.empty()) absl::StrAppend(&title, ", mode ", g.mode);
  return title;
}

// Appends one group per execution mode, when calls were served in more than one.
void AddModeGroups(const std::vector<const Sample*>& members, const std::string& function,
                   double deadline, std::vector<GroupStats>* out) {
  std::map<int, std::vector<const Sample*>> per_mode;  // by enum value: cold, prewarmed, warm
  for (const Sample* s : members) {
    if (s->warmup || s->abandoned || s->result.mode() == v1::EXECUTION_MODE_UNSPECIFIED) continue;
    per_mode[s->result.mode()].push_back(s);
  }
  if (per_mode.size() < 2) return;
  for (const auto& [mode, group] : per_mode) {
    out->push_back(Stats(
        group, function, deadline,
        Short(v1::ExecutionMode_Name(static_cast<v1::ExecutionMode>(mode)), "EXECUTION_MODE_")));
  }
}

}  // namespace

std::vector<GroupStats> SummarizeRun(const std::vector<Sample>& samples,
                                     absl::Duration deadline_duration) {
  const double deadline = absl::ToDoubleSeconds(deadline_duration);
  std::map<int, std::vector<const Sample*>> levels;
  for (const Sample& s : samples) {
    if (s.sent) levels[s.level].push_back(&s);
  }
  std::vector<GroupStats> out;
  for (const auto& [level, members] : levels) {
    out.push_back(Stats(members, "", deadline));
    std::map<std::string, std::vector<const Sample*>> per_function;
    for (const Sample* s : members) per_function[s->function].push_back(s);
    if (per_function.size() < 2) {
      AddModeGroups(members, "", deadline, &out);
      continue;
    }
    for (const auto& [function, group] : per_function) {
      out.push_back(Stats(group, function, deadline));
      AddModeGroups(group, function, deadline, &out);
    }
  }
  return out;
}

std::string FormatSummary(const std::vector<GroupStats>& groups) {
  std::string out;
  for (const GroupStats& g : groups) {
    const char* indent = !g.mode.empty()      ? (g.function.empty() ? "  " : "    ")
                         : g.function.empty() ? ""
                                              : "  ";
    absl::StrAppendFormat(&out, "%s%s: %d calls in %.2f s, %.1f/s succeeded\n", indent, Title(g),
                          g.count, g.elapsed, g.throughput);
    absl::StrAppendFormat(&out, "%s  succeeded %d, function failed %d, rpc failed %d", indent,
                          g.succeeded, g.function_failed, g.rpc_failed);
    if (g.warmup > 0) absl::StrAppendFormat(&out, ", warm-up excluded %d", g.warmup);
    if (g.abandoned > 0) absl::StrAppendFormat(&out, ", abandoned at interrupt %d", g.abandoned);
    absl::StrAppendFormat(
        &out,
        "\n%s  latency  mean %.2f ms  p50 %.2f  p90 %.2f  p95 %.2f  p99 %.2f  max %.2f ms\n"
        "%s  master   queue wait %.2f ms  cold start %.2f ms  execution %.2f ms (means)\n"
        "%s  overhead p50 %.2f ms  p99 %.2f ms (latency minus execution)\n",
        indent, g.mean * 1e3, g.p50 * 1e3, g.p90 * 1e3, g.p95 * 1e3, g.p99 * 1e3, g.max * 1e3,
        indent, g.queue_wait_mean * 1e3, g.cold_start_mean * 1e3, g.execution_mean * 1e3, indent,
        g.overhead_p50 * 1e3, g.overhead_p99 * 1e3);
    if (g.deadline > 0) {
      absl::StrAppendFormat(&out, "%s  deadline %.0f ms missed by %d (%.2f %%)\n", indent,
                            g.deadline * 1e3, g.deadline_missed, g.deadline_miss_rate * 100);
    }
    if (!g.first_failure.empty()) {
      absl::StrAppend(&out, indent, "  first failure: ", g.first_failure, "\n");
    }
  }
  return out;
}

std::string FormatRunAllOut(const std::vector<GroupStats>& groups) {
  std::string out;
  for (const GroupStats& g : groups) {
    absl::StrAppendFormat(&out,
                          "=== %s ===\ncount: %d\nmean: %.6f\nmedian: %.6f\np90: %.6f\n"
                          "p95: %.6f\np99: %.6f\n\n",
                          Title(g), g.count - g.rpc_failed, g.mean, g.p50, g.p90, g.p95, g.p99);
  }
  return out;
}

std::string FormatJson(const std::string& label, bool interrupted,
                       const std::vector<GroupStats>& groups) {
  google::protobuf::Struct root;
  auto& fields = *root.mutable_fields();
  fields["label"].set_string_value(label);
  fields["interrupted"].set_bool_value(interrupted);
  auto* levels = fields["levels"].mutable_list_value();
  for (const GroupStats& g : groups) {
    auto& f = *levels->add_values()->mutable_struct_value()->mutable_fields();
    f["shape"].set_string_value(g.shape);
    if (!g.function.empty()) f["function"].set_string_value(g.function);
    if (!g.mode.empty()) f["mode"].set_string_value(g.mode);
    if (g.offered_rps > 0) f["offered_rps"].set_number_value(g.offered_rps);
    if (g.users > 0) f["users"].set_number_value(g.users);
    f["count"].set_number_value(g.count);
    f["succeeded"].set_number_value(g.succeeded);
    f["function_failed"].set_number_value(g.function_failed);
    f["rpc_failed"].set_number_value(g.rpc_failed);
    f["warmup_excluded"].set_number_value(g.warmup);
    f["abandoned"].set_number_value(g.abandoned);
    f["elapsed_s"].set_number_value(g.elapsed);
    f["throughput_rps"].set_number_value(g.throughput);
    auto& lat = *f["latency_s"].mutable_struct_value()->mutable_fields();
    lat["mean"].set_number_value(g.mean);
    lat["p50"].set_number_value(g.p50);
    lat["p90"].set_number_value(g.p90);
    lat["p95"].set_number_value(g.p95);
    lat["p99"].set_number_value(g.p99);
    lat["max"].set_number_value(g.max);
    auto& parts = *f["master_means_s"].mutable_struct_value()->mutable_fields();
    parts["queue_wait"].set_number_value(g.queue_wait_mean);
    parts["cold_start"].set_number_value(g.cold_start_mean);
    parts["execution"].set_number_value(g.execution_mean);
    if (g.open_loop) {
      f["sent_rps"].set_number_value(g.sent_rps);
      auto& lag = *f["send_lag_s"].mutable_struct_value()->mutable_fields();
      lag["p99"].set_number_value(g.send_lag_p99);
      lag["max"].set_number_value(g.send_lag_max);
    }
    auto& overhead = *f["overhead_s"].mutable_struct_value()->mutable_fields();
    overhead["p50"].set_number_value(g.overhead_p50);
    overhead["p99"].set_number_value(g.overhead_p99);
    if (g.deadline > 0) {
      f["deadline_s"].set_number_value(g.deadline);
      f["deadline_missed"].set_number_value(g.deadline_missed);
      f["deadline_miss_rate"].set_number_value(g.deadline_miss_rate);
    }
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  // A Struct of strings, numbers and lists always prints.
  (void)google::protobuf::util::MessageToJsonString(root, &json, options);
  return json;
}

absl::Status WriteCsv(const std::string& path, const std::vector<Sample>& samples) {
  std::ofstream out(path);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  out << "index,level,shape,offered_rps,users,warmup,function,trace_function,scheduled_unix_s,"
         "sent_unix_s,send_lag_s,invocation_id,worker,zone,architecture,mode,queue_order,"
         "placement,outcome,exit_code,attempts,hops,cache_ways,queue_wait_s,cold_start_s,"
         "execution_s,paused_s,total_s,client_latency_s,cpu_percent_at_dispatch,"
         "memory_percent_at_dispatch,rpc_status,entry,route\n";
  for (const Sample& s : samples) {
    if (!s.sent) continue;
    const v1::InvocationResult& r = s.result;
    const v1::Timings& t = r.timings();
    out << s.index << "," << s.level << "," << CsvField(s.shape) << ","
        << absl::StrFormat("%.6g", s.offered_rps) << "," << s.users << "," << (s.warmup ? 1 : 0)
        << "," << CsvField(s.function) << "," << CsvField(s.trace_function) << ","
        << (s.scheduled_send ? absl::StrFormat("%.6f", UnixSeconds(s.scheduled)) : "") << ","
        << absl::StrFormat("%.6f", UnixSeconds(s.sent_at)) << ","
        << (s.scheduled_send
                ? absl::StrFormat("%.6f", absl::ToDoubleSeconds(s.sent_at - s.scheduled))
                : "")
        << "," << r.invocation_id() << "," << CsvField(r.worker_id()) << "," << CsvField(r.zone())
        << "," << Short(v1::Architecture_Name(r.architecture()), "ARCHITECTURE_") << ","
        << Short(v1::ExecutionMode_Name(r.mode()), "EXECUTION_MODE_") << ","
        << CsvField(r.queue_order()) << "," << CsvField(r.placement_policy()) << ","
        << Short(v1::Outcome_Name(r.outcome()), "OUTCOME_") << "," << r.exit_code() << ","
        << r.attempts() << "," << r.hops() << "," << r.cache_ways() << ","
        << absl::StrFormat("%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f", ToSeconds(t.queue_wait()),
                           ToSeconds(t.cold_start()), ToSeconds(t.execution()),
                           ToSeconds(t.paused()), ToSeconds(t.total()), s.client_latency,
                           r.cpu_percent_at_dispatch(), r.memory_percent_at_dispatch())
        << "," << s.rpc_code << "," << CsvField(r.entry_node()) << ","
        << CsvField(absl::StrJoin(r.route(), ">")) << "\n";
  }
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status WriteResults(const std::string& directory, const std::string& label, bool interrupted,
                          const std::vector<Sample>& samples,
                          const std::vector<GroupStats>& groups) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create results directory ", directory, ": ", error.message()));
  }
  if (absl::Status s = WriteCsv(directory + "/invocations.csv", samples); !s.ok()) return s;
  const std::pair<const char*, std::string> files[] = {
      {"/summary.txt", FormatSummary(groups)},
      {"/run-all-out.txt", FormatRunAllOut(groups)},
      {"/summary.json", FormatJson(label, interrupted, groups) + "\n"}};
  for (const auto& [name, text] : files) {
    std::ofstream out(directory + name);
    out << text;
    out.close();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", directory, name));
  }
  return absl::OkStatus();
}

}  // namespace fsched::bench
