// fschedctl Workers: list, add, drain, remove.
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

int Workers(Cli& cli, const std::string& /*command*/, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::ListWorkersResponse resp;
  grpc::Status s = cli.cluster()->ListWorkers(&ctx, v1::ListWorkersRequest(), &resp);
  if (!s.ok()) return RpcFailed("ListWorkers", s);
  if (Json()) return PrintJson(resp), 0;
  std::vector<std::vector<std::string>> rows = {{"ID", "STATE", "ADDRESS", "ZONE", "SLOTS", "CORES",
                                                 "MEMORY", "LOAD1", "CPU%", "MEM%", "DONE",
                                                 "RUNTIMES", "CACHE WAYS", "IDLE INSTANCES"}};
  for (const v1::WorkerInfo& w : resp.workers()) {
    std::vector<std::string> runtimes, warm;
    for (int kind : w.capacity().runtimes()) {
      runtimes.push_back(
          ShortEnum(v1::RuntimeKind_Name(static_cast<v1::RuntimeKind>(kind)), "RUNTIME_KIND_"));
    }
    for (const v1::WarmInstance& i : w.load().warm()) {
      warm.push_back(absl::StrCat(i.function(), ":", i.count(),
                                  i.mode() == v1::EXECUTION_MODE_WARM ? "w" : "p"));
    }
    rows.push_back({w.id(), ShortEnum(v1::WorkerState_Name(w.state()), "WORKER_STATE_"),
                    w.address(), w.zone(), absl::StrCat(w.slots_used(), "/", w.capacity().slots()),
                    absl::StrCat(w.capacity().cores()),
                    absl::StrFormat("%.1fGiB", w.capacity().memory_bytes() / 1073741824.0),
                    absl::StrFormat("%.2f", w.load().load1()),
                    absl::StrFormat("%.0f", w.load().cpu_percent()),
                    absl::StrFormat("%.0f", w.load().memory_percent()), absl::StrCat(w.completed()),
                    absl::StrJoin(runtimes, ","),
                    // reserved/total, as the master accounts for them
                    w.capacity().cat_supported()
                        ? absl::StrCat(w.cache_ways_reserved(), "/", w.capacity().cache_ways())
                        : "-",
                    warm.empty() ? "-" : absl::StrJoin(warm, " ")});
  }
  PrintTable(rows);
  return 0;
}

int WorkerOp(Cli& cli, const std::string& command, const Args& args) {
  if (args.size() != 1) return Usage(absl::StrCat(command, " needs one argument"));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  grpc::Status s;
  if (command == "add-worker") {
    v1::AddWorkerRequest req;
    req.set_address(args[0]);
    v1::WorkerInfo resp;
    s = cli.cluster()->AddWorker(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("AddWorker", s);
    if (Json()) return PrintJson(resp), 0;
    std::cout << "worker " << resp.id() << " joined (" << resp.capacity().slots() << " slots)\n";
  } else if (command == "drain") {
    v1::DrainWorkerRequest req;
    req.set_worker_id(args[0]);
    v1::WorkerInfo resp;
    s = cli.cluster()->DrainWorker(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("DrainWorker", s);
    std::cout << "worker " << resp.id() << " draining (" << resp.slots_used()
              << " still running)\n";
  } else {
    v1::RemoveWorkerRequest req;
    req.set_worker_id(args[0]);
    req.set_force(absl::GetFlag(FLAGS_force));
    v1::RemoveWorkerResponse resp;
    s = cli.cluster()->RemoveWorker(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("RemoveWorker", s);
    std::cout << "worker " << args[0] << " removed (" << resp.requeued()
              << " invocations re-queued)\n";
  }
  return 0;
}

}  // namespace fsched::ctl
