// fschedctl Administration: load, config, durations, scheduling policy, architecture.
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/proto_time.h"
#include "tools/fschedctl/cli.h"
#include "tools/fschedctl/commands.h"
#include "tools/fschedctl/flags.h"
#include "tools/fschedctl/upload.h"

namespace fsched::ctl {

int Load(Cli& cli, const std::string& /*command*/, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::GetLoadResponse resp;
  grpc::Status s = cli.admin()->GetLoad(&ctx, v1::GetLoadRequest(), &resp);
  if (!s.ok()) return RpcFailed("GetLoad", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << absl::StrFormat(
      "node %s: load %.2f %.2f %.2f, cpu %.0f%%, memory %.0f%%\n"
      "workers ready %d, slots %d/%d used, queued %d, running %d, %.2f req/s (last minute)\n",
      resp.node_id(), resp.node().load1(), resp.node().load5(), resp.node().load15(),
      resp.node().cpu_percent(), resp.node().memory_percent(), resp.workers_ready(),
      resp.slots_used(), resp.slots_total(), resp.queued(), resp.running(),
      resp.requests_per_second());
  return 0;
}

int RecoveryCmd(Cli& cli, const std::string& /*command*/, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::Recovery resp;
  grpc::Status s = cli.admin()->GetRecovery(&ctx, v1::GetRecoveryRequest(), &resp);
  if (!s.ok()) return RpcFailed("GetRecovery", s);
  if (Json()) return PrintJson(resp), 0;
  if (!resp.durable()) {
    std::cout << "node " << resp.node_id()
              << ": durable invocations are off (scheduler.durable_invocations): nothing "
                 "accepted before a restart is kept\n";
    return 0;
  }
  std::cout << absl::StrFormat(
      "node %s recovered at start:\n"
      "  queued again        %d  (were queued; their order and arrival times kept)\n"
      "    left to a worker  %d  (it was running them already: their dispatch had not reached "
      "disk)\n"
      "  were running        %d  (left to their workers)\n"
      "    confirmed         %d  (their worker still had them)\n"
      "    queued again      %d  (their worker came back without them)\n"
      "    queued again      %d  (their worker did not come back within cluster.reconnect_grace)\n"
      "    awaiting          %d  (their worker has not reconnected yet)\n"
      "  rejected            %d  (queue full or past scheduler.queue_timeout; see their results)\n"
      "  results kept        %d  (finished before the restart)\n",
      resp.node_id(), resp.requeued(), resp.adopted(), resp.running(), resp.confirmed(),
      resp.not_held(), resp.worker_gone(), resp.awaiting(), resp.rejected(), resp.results());
  return 0;
}

int ConfigCmd(Cli& cli, const std::string& /*command*/, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::GetConfigurationResponse resp;
  grpc::Status s = cli.admin()->GetConfiguration(&ctx, v1::GetConfigurationRequest(), &resp);
  if (!s.ok()) return RpcFailed("GetConfiguration", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << resp.effective_config_yaml();
  return 0;
}

int Durations(Cli& cli, const std::string& /*command*/, const Args& args) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::GetDurationsRequest req;
  if (!args.empty()) req.set_function(args[0]);
  v1::GetDurationsResponse resp;
  grpc::Status s = cli.admin()->GetDurations(&ctx, req, &resp);
  if (!s.ok()) return RpcFailed("GetDurations", s);
  if (Json()) return PrintJson(resp), 0;
  std::vector<std::vector<std::string>> rows = {
      {"FUNCTION", "COUNT", "MEAN", "P50", "P95", "RECENT"}};
  for (const auto& d : resp.functions()) {
    rows.push_back({d.function(), absl::StrCat(d.count()), Ms(d.mean()), Ms(d.p50()), Ms(d.p95()),
                    absl::StrCat(d.recent_size())});
  }
  PrintTable(rows);
  return 0;
}

int Policy(Cli& cli, const std::string& /*command*/, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::SchedulingPolicy resp;
  grpc::Status s;
  const std::string order = absl::GetFlag(FLAGS_queue_order);
  const std::string placement = absl::GetFlag(FLAGS_placement);
  if (order.empty() && placement.empty()) {
    s = cli.admin()->GetSchedulingPolicy(&ctx, v1::GetSchedulingPolicyRequest(), &resp);
  } else {
    v1::SchedulingPolicy req;
    req.set_queue_order(order);
    req.set_placement(placement);
    s = cli.admin()->SetSchedulingPolicy(&ctx, req, &resp);
  }
  if (!s.ok()) return RpcFailed("SchedulingPolicy", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << "queue order: " << resp.queue_order() << "\nplacement:   " << resp.placement()
            << "\n";
  return 0;
}

int Arch(Cli& cli, const std::string& /*command*/, const Args& args) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  grpc::Status s;
  if (!args.empty() && args[0] == "set") {
    if (args.size() != 2) return Usage("arch set needs one of centralized, federated, ...");
    v1::SetArchitectureRequest req;
    req.set_architecture(args[1]);
    v1::SetArchitectureResponse resp;
    s = cli.admin()->SetArchitecture(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("SetArchitecture", s);
    if (Json()) return PrintJson(resp), 0;
    std::cout << "architecture: "
              << ShortEnum(v1::Architecture_Name(resp.architecture()), "ARCHITECTURE_") << "\n";
    return 0;
  }
  if (!args.empty() && args[0] == "thresholds") {
    v1::UpdateThresholdsRequest req;
    v1::Thresholds* t = req.mutable_thresholds();
    struct Field {
      const absl::Flag<std::string>* flag;
      const char* name;
      std::function<void(double)> set;
    };
    const Field fields[] = {
        {&FLAGS_soft_d2f, "soft_d2f", [t](double v) { t->set_soft_d2f(v); }},
        {&FLAGS_hard_d2f, "hard_d2f", [t](double v) { t->set_hard_d2f(v); }},
        {&FLAGS_soft_f2c, "soft_f2c", [t](double v) { t->set_soft_f2c(v); }},
        {&FLAGS_hard_f2c, "hard_f2c", [t](double v) { t->set_hard_f2c(v); }},
        {&FLAGS_min_samples, "min_samples",
         [t](double v) { t->set_min_samples(static_cast<uint32_t>(v)); }},
        {&FLAGS_sample_interval, "sample_interval",
         [t](double v) { t->set_sample_interval_seconds(v); }},
        {&FLAGS_offload_load_threshold, "offload_load_threshold",
         [t](double v) { t->set_offload_load_threshold(v); }},
    };
    for (const Field& f : fields) {
      const std::string text = absl::GetFlag(*f.flag);
      if (text.empty()) continue;
      double v = 0;
      if (!absl::SimpleAtod(text, &v) || v < 0) {
        return Usage(absl::StrCat("--", f.name, " '", text, "' is not a non-negative number"));
      }
      f.set(v);
    }
    v1::Thresholds resp;
    s = cli.admin()->UpdateThresholds(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("UpdateThresholds", s);
    if (Json()) return PrintJson(resp), 0;
    std::cout << absl::StrFormat(
        "decentralized->federated: soft %g, hard %g\nfederated->centralized:   soft %g, hard "
        "%g\nmin samples %d, sample interval %gs, offload load threshold %g\n",
        resp.soft_d2f(), resp.hard_d2f(), resp.soft_f2c(), resp.hard_f2c(), resp.min_samples(),
        resp.sample_interval_seconds(), resp.offload_load_threshold());
    return 0;
  }
  if (args.size() > 1) return Usage("arch takes at most a FUNCTION, or set / thresholds");
  v1::GetArchMetricsRequest req;
  if (!args.empty()) req.set_function(args[0]);
  v1::GetArchMetricsResponse resp;
  s = cli.admin()->GetArchMetrics(&ctx, req, &resp);
  if (!s.ok()) return RpcFailed("GetArchMetrics", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << "architecture: "
            << ShortEnum(v1::Architecture_Name(resp.architecture()), "ARCHITECTURE_") << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"FUNCTION", "ARCHITECTURE", "SAMPLES", "P50", "P95", "P95/P50", "MEAN", "SHARE"}};
  for (const v1::FunctionArchMetrics& f : resp.functions()) {
    for (const v1::ArchWindow& w : f.windows()) {
      const double share =
          w.architecture() == v1::ARCHITECTURE_CENTRALIZED ? f.ratios().centralized()
          : w.architecture() == v1::ARCHITECTURE_FEDERATED ? f.ratios().federated()
                                                           : f.ratios().decentralized();
      rows.push_back({f.function(),
                      ShortEnum(v1::Architecture_Name(w.architecture()), "ARCHITECTURE_"),
                      absl::StrCat(w.samples()), absl::StrFormat("%.2fms", w.p50_seconds() * 1e3),
                      absl::StrFormat("%.2fms", w.p95_seconds() * 1e3),
                      absl::StrFormat("%.2f", w.tail_ratio()),
                      absl::StrFormat("%.2fms", w.mean_seconds() * 1e3),
                      // The dynamic selector's share, reported only where it routes.
                      f.has_ratios() ? absl::StrFormat("%.2f", share) : std::string("-")});
    }
  }
  PrintTable(rows);
  return 0;
}

}  // namespace fsched::ctl
