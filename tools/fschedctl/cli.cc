#include "tools/fschedctl/cli.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config.h"
#include "common/proto_time.h"
#include "common/rpc.h"
#include "tools/fschedctl/flags.h"

namespace fsched::ctl {

const char kUsage[] =
    R"(fschedctl [--config FILE] [--master HOST:PORT] [--token T | --token_file F] [--json]
          COMMAND [ARGS]

Functions:
  functions                                   list registered functions
  register NAME [--timeout 30s] [--env K=V,..] [--replace] -- CMD [ARGS...]
           [--rootfs DIR|sha256:.. | --image REF]  (a runc | containerd container, with
            [--memory 128MiB] [--cpus 0.5] [--keep_alive 10m] [--max_instances N]
            [--prewarmed N] [--network])  [--max_concurrency N]
  register NAME --runtime python|node --code DIR|FILE.tar|sha256:.. --handler H
           [--init_timeout 30s] [--recycle_after_calls N] [--recycle_above_memory 256MiB]
           [--instance_concurrency N]
           [--rootfs DIR|sha256:.. | --image REF --code /DIR-INSIDE]
                                              a handler in persistent instances (initialised
                                              once, warm calls reuse them; docs/runtimes.md),
                                              as processes or in runc | containerd containers
  delete NAME
  upload-rootfs FILE.tar                      store a root filesystem archive; prints its digest
  rootfs                                      list stored root filesystem archives
Invocations:
  invoke NAME [--payload S | --payload_file F] [-- ARGS...]   run and print the result
  submit NAME [--payload S | --payload_file F] [-- ARGS...]   queue and print the id
  get ID | wait ID [--timeout 30s] | cancel ID
Tasks (Fsched's flow: LLC ways from benchmark curves):
  task upload NAME FILE.tar                   store a task (a tar of its files); prints its id
  task benchmark ID --size S [--max_ways N] [--worker W] -- CMD [ARGS...]
                                              run it at 1..N cache ways; prints the curve
  task run ID --size S -- CMD [ARGS...]       run it with the predicted ways
Workers:
  workers                                     list workers with capacity and load
  add-worker HOST:PORT | drain ID | remove-worker ID [--force]
Access (admin):
  token create NAME [--role invoker|developer|admin] [--rate R/s [--burst N]]
                                              prints the new token (shown once)
  token list | token revoke NAME
  whoami                                      the caller this token is
Administration:
  load | config | durations [FUNCTION] | policy [--queue_order X] [--placement Y]
  recovery                                    what this master recovered of its predecessor's calls
  arch [FUNCTION]                             the architecture, per-architecture tail windows, ratios
  arch set centralized|federated|decentralized|dynamic
  arch thresholds [--soft_d2f X --hard_d2f X --soft_f2c X --hard_f2c X --min_samples N
                   --sample_interval S --offload_load_threshold F]   show or change (others kept)

Exit status: 0 on success, 1 when the RPC failed (the message says why),
2 for a usage error, 3 when an invoked function did not succeed.)";

Cli::Cli(const std::string& master) : channel_(MakeChannel(master)) {}

v1::Controller::Stub* Cli::controller() {
  if (!controller_) controller_ = v1::Controller::NewStub(channel_);
  return controller_.get();
}

v1::Cluster::Stub* Cli::cluster() {
  if (!cluster_) cluster_ = v1::Cluster::NewStub(channel_);
  return cluster_.get();
}

v1::Admin::Stub* Cli::admin() {
  if (!admin_) admin_ = v1::Admin::NewStub(channel_);
  return admin_.get();
}

v1::Tokens::Stub* Cli::tokens() {
  if (!tokens_) tokens_ = v1::Tokens::NewStub(channel_);
  return tokens_.get();
}

bool Json() { return absl::GetFlag(FLAGS_json); }

int Usage(const std::string& why) {
  std::fprintf(stderr, "fschedctl: %s\n\n%s\n", why.c_str(), kUsage);
  return 2;
}

int RpcFailed(const std::string& rpc, const grpc::Status& status) {
  std::fprintf(stderr, "fschedctl: %s failed: %s: %s\n", rpc.c_str(),
               absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())).c_str(),
               status.error_message().c_str());
  return 1;
}

void PrintJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  std::cout << out;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string Ms(const google::protobuf::Duration& d) {
  return absl::StrFormat("%.2fms", ToSeconds(d) * 1000.0);
}

std::string ShortEnum(const std::string& full, const std::string& prefix) {
  return full.rfind(prefix, 0) == 0 ? absl::AsciiStrToLower(full.substr(prefix.size())) : full;
}

absl::Duration RpcTimeout(absl::Duration fallback) {
  const std::string text = absl::GetFlag(FLAGS_rpc_timeout);
  if (text.empty()) return fallback;
  auto parsed = ParseDurationText(text);
  return parsed.ok() ? *parsed : fallback;
}

void SetDeadline(grpc::ClientContext* ctx, absl::Duration timeout) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

absl::StatusOr<std::string> ReadPayload() {
  const std::string file = absl::GetFlag(FLAGS_payload_file);
  if (file.empty()) return absl::GetFlag(FLAGS_payload);
  std::stringstream buffer;
  if (file == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read payload file '", file, "'"));
    buffer << in.rdbuf();
  }
  return buffer.str();
}

void PrintResult(const v1::InvocationResult& r) {
  std::cout << r.stdout();
  if (!r.stdout().empty() && r.stdout().back() != '\n') std::cout << "\n";
  if (!r.stderr().empty()) std::cerr << r.stderr();
  std::cerr << absl::StrFormat(
      "-- %s %s on %s: %s, %s  (queue %s, cold start %s%s, exec %s, total %s, attempts %d)%s\n",
      r.invocation_id(), r.function(), r.worker_id().empty() ? "-" : r.worker_id(),
      ShortEnum(v1::Outcome_Name(r.outcome()), "OUTCOME_"),
      ShortEnum(v1::ExecutionMode_Name(r.mode()), "EXECUTION_MODE_"), Ms(r.timings().queue_wait()),
      Ms(r.timings().cold_start()),
      r.timings().has_init() ? absl::StrCat(" of which init ", Ms(r.timings().init())) : "",
      Ms(r.timings().execution()), Ms(r.timings().total()), r.attempts(),
      r.message().empty() ? "" : absl::StrCat("\n   ", r.message()));
}

}  // namespace fsched::ctl
