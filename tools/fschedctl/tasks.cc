// fschedctl Tasks (seed 003's flow): upload, benchmark at 1..N cache ways, run.
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

int Task(Cli& cli, const std::string& /*command*/, const Args& args) {
  if (args.empty()) return Usage("task needs upload, benchmark or run");
  const std::string& verb = args[0];
  if (verb == "upload") {
    if (args.size() != 3) return Usage("task upload needs NAME and FILE.tar");
    std::ifstream in(args[2], std::ios::binary);
    if (!in) return Usage(absl::StrCat("cannot read ", args[2]));
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Minutes(30)));
    v1::Task resp;
    grpc::Status s = ctl::UploadTask(cli.controller(), &ctx, args[1], in, &resp);
    if (!s.ok()) return RpcFailed("UploadTask", s);
    if (Json()) return PrintJson(resp), 0;
    std::cout << resp.task_id() << "\n";
    return 0;
  }
  if (verb != "benchmark" && verb != "run") {
    return Usage(absl::StrCat("task ", verb, ": not upload, benchmark or run"));
  }
  if (args.size() < 3) return Usage(absl::StrCat("task ", verb, " needs ID -- CMD [ARGS...]"));
  if (absl::GetFlag(FLAGS_max_ways) < 0) return Usage("--max_ways must not be negative");
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Minutes(30)));
  grpc::Status s;
  if (verb == "benchmark") {
    v1::BenchmarkTaskRequest req;
    req.set_task_id(args[1]);
    for (size_t i = 2; i < args.size(); ++i) req.add_command(args[i]);
    req.set_input_size(absl::GetFlag(FLAGS_size));
    req.set_max_ways(static_cast<uint32_t>(absl::GetFlag(FLAGS_max_ways)));
    req.set_worker_id(absl::GetFlag(FLAGS_worker));
    v1::BenchmarkTaskResponse resp;
    s = cli.controller()->BenchmarkTask(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("BenchmarkTask", s);
    if (Json()) return PrintJson(resp), 0;
    std::cout << resp.message() << "\n";
    std::vector<std::vector<std::string>> rows = {{"WAYS", "TIME", "FIT"}};
    for (const v1::BenchmarkPoint& p : resp.points()) {
      const double fit = resp.fit_a() + resp.fit_b() / (1 + std::sqrt(p.ways() - 1.0));
      rows.push_back(
          {absl::StrCat(p.ways()), Ms(p.time()), absl::StrFormat("%.2fms", fit * 1000.0)});
    }
    PrintTable(rows);
    std::cout << absl::StrFormat("fit: t(x) = %.6gs + %.6gs / (1 + sqrt(x - 1))\n", resp.fit_a(),
                                 resp.fit_b());
    return 0;
  }
  v1::RunTaskRequest req;
  req.set_task_id(args[1]);
  for (size_t i = 2; i < args.size(); ++i) req.add_command(args[i]);
  req.set_input_size(absl::GetFlag(FLAGS_size));
  v1::RunTaskResponse resp;
  s = cli.controller()->RunTask(&ctx, req, &resp);
  if (!s.ok()) return RpcFailed("RunTask", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << ShortEnum(v1::TaskRunMode_Name(resp.mode()), "TASK_RUN_MODE_") << ", "
            << resp.cache_ways() << " cache ways\n";
  PrintResult(resp.result());
  return resp.result().outcome() == v1::OUTCOME_OK ? 0 : 3;
}

}  // namespace fsched::ctl
