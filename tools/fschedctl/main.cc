// fschedctl: operator CLI for an fsched master (functions, invocations, workers,
// load and scheduling policy). Tables for people, --json for machines.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/flag_file.h"
#include "common/proto_time.h"
#include "common/rpc.h"
#include "common/sha256.h"
#include "common/tls_flags.h"
#include "fsched/v1/admin.grpc.pb.h"
#include "fsched/v1/cluster.grpc.pb.h"
#include "fsched/v1/controller.grpc.pb.h"

ABSL_FLAG(std::string, config, "",
          "YAML file of flag values (e.g. master: 10.0.0.1:50051); the command line overrides it");
ABSL_FLAG(std::string, master, "127.0.0.1:50051", "master address host:port");
ABSL_FLAG(bool, json, false, "print responses as JSON");
ABSL_FLAG(std::string, rpc_timeout, "",
          "deadline for each call (default 30s; invoke: function timeout + 60s)");
ABSL_FLAG(std::string, payload, "", "invoke/submit: payload given to the function on stdin");
ABSL_FLAG(std::string, payload_file, "",
          "invoke/submit: read the payload from this file ('-' = stdin)");
ABSL_FLAG(std::string, timeout, "",
          "register: function timeout; invoke/submit: per-call timeout; wait: how long to wait");
ABSL_FLAG(std::vector<std::string>, env, {}, "register: K=V environment entries (comma-separated)");
ABSL_FLAG(std::string, workdir, "", "register: working directory of the function");
ABSL_FLAG(std::string, description, "", "register: free-text description");
ABSL_FLAG(bool, replace, false, "register: replace an existing function");
ABSL_FLAG(bool, force, false, "remove-worker: re-queue what the worker still runs");
ABSL_FLAG(std::string, queue_order, "", "policy: queue order to switch to");
ABSL_FLAG(std::string, placement, "", "policy: placement policy to switch to");
ABSL_FLAG(std::string, output_limit, "",
          "register: cap on captured stdout/stderr per stream (e.g. 64KiB)");
ABSL_FLAG(std::string, rootfs, "",
          "register: run in a runc container with this root filesystem: a directory on every "
          "worker, or the sha256:... digest of an archive from upload-rootfs; implies "
          "--runtime runc");
ABSL_FLAG(std::string, image, "",
          "register: run in a containerd container from this image (already in the workers' "
          "containerd namespace, worker.containerd_namespace); implies --runtime containerd");
ABSL_FLAG(std::string, runtime, "",
          "register: process | runc | containerd (default: process, runc with --rootfs, "
          "containerd with --image)");
ABSL_FLAG(std::string, memory, "", "register: memory limit of the container (e.g. 128MiB)");
ABSL_FLAG(double, cpus, 0, "register: CPU quota of the container in cores (e.g. 0.5)");
ABSL_FLAG(std::string, keep_alive, "",
          "register: how long an idle warm container is kept (0 = never; default: the worker's)");
ABSL_FLAG(int, max_instances, 0, "register: cap of idle warm containers per worker (0 = none)");
ABSL_FLAG(int, prewarmed, 0, "register: containers kept pre-created on every runc worker");
ABSL_FLAG(bool, network, false, "register: give the container the host's network");
ABSL_FLAG(
    int, cache_ways, 0,
    "register: LLC ways for every call (0 = the LLC predictor's); invoke/submit: for this call");
ABSL_FLAG(double, size, 0, "invoke/submit/task: the input size (for the predictors)");
ABSL_FLAG(std::string, soft_d2f, "", "arch thresholds: soft decentralized->federated tail ratio");
ABSL_FLAG(std::string, hard_d2f, "", "arch thresholds: hard decentralized->federated tail ratio");
ABSL_FLAG(std::string, soft_f2c, "", "arch thresholds: soft federated->centralized tail ratio");
ABSL_FLAG(std::string, hard_f2c, "", "arch thresholds: hard federated->centralized tail ratio");
ABSL_FLAG(std::string, min_samples, "",
          "arch thresholds: samples per window before a ratio counts");
ABSL_FLAG(std::string, sample_interval, "", "arch thresholds: seconds between ratio updates");
ABSL_FLAG(std::string, offload_load_threshold, "",
          "arch thresholds: busy fraction of slots before offloading");
ABSL_FLAG(int, max_ways, 0, "task benchmark: benchmark at 1..N cache ways (0 = min(10, usable))");
ABSL_FLAG(std::string, worker, "",
          "invoke/submit/task benchmark: run only on this worker (default: the master chooses)");

namespace {

using namespace fsched;

constexpr char kUsage[] = R"(fschedctl [--config FILE] [--master HOST:PORT] [--json] COMMAND [ARGS]

Functions:
  functions                                   list registered functions
  register NAME [--timeout 30s] [--env K=V,..] [--replace] -- CMD [ARGS...]
           [--rootfs DIR|sha256:.. | --image REF]  (a runc | containerd container, with
            [--memory 128MiB] [--cpus 0.5] [--keep_alive 10m] [--max_instances N]
            [--prewarmed N] [--network])
  delete NAME
  upload-rootfs FILE.tar                      store a root filesystem archive; prints its digest
  rootfs                                      list stored root filesystem archives
Invocations:
  invoke NAME [--payload S | --payload-file F] [-- ARGS...]   run and print the result
  submit NAME [--payload S | --payload-file F] [-- ARGS...]   queue and print the id
  get ID | wait ID [--timeout 30s] | cancel ID
Tasks (Fsched's flow: LLC ways from benchmark curves):
  task upload NAME FILE.tar                   store a task (a tar of its files); prints its id
  task benchmark ID --size S [--max_ways N] [--worker W] -- CMD [ARGS...]
                                              run it at 1..N cache ways; prints the curve
  task run ID --size S -- CMD [ARGS...]       run it with the predicted ways
Workers:
  workers                                     list workers with capacity and load
  add-worker HOST:PORT | drain ID | remove-worker ID [--force]
Administration:
  load | config | durations [FUNCTION] | policy [--queue_order X] [--placement Y]
  arch [FUNCTION]                             the architecture, per-architecture tail windows, ratios
  arch set centralized|federated|decentralized|dynamic
  arch thresholds [--soft_d2f X --hard_d2f X --soft_f2c X --hard_f2c X --min_samples N
                   --sample_interval S --offload_load_threshold F]   show or change (others kept)

Exit status: 0 on success, 1 when the RPC failed (the message says why),
2 for a usage error, 3 when an invoked function did not succeed.)";

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

// Column-aligned table.
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
      "-- %s %s on %s: %s, %s  (queue %s, cold start %s, exec %s, total %s, attempts %d)%s\n",
      r.invocation_id(), r.function(), r.worker_id().empty() ? "-" : r.worker_id(),
      ShortEnum(v1::Outcome_Name(r.outcome()), "OUTCOME_"),
      ShortEnum(v1::ExecutionMode_Name(r.mode()), "EXECUTION_MODE_"), Ms(r.timings().queue_wait()),
      Ms(r.timings().cold_start()), Ms(r.timings().execution()), Ms(r.timings().total()),
      r.attempts(), r.message().empty() ? "" : absl::StrCat("\n   ", r.message()));
}

class Cli {
 public:
  explicit Cli(const std::string& master) : channel_(MakeChannel(master)) {}

  int Run(const std::vector<std::string>& args) {
    const std::string& cmd = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "functions") return Functions();
    if (cmd == "register") return Register(rest);
    if (cmd == "delete") return Delete(rest);
    if (cmd == "upload-rootfs") return UploadRootfs(rest);
    if (cmd == "rootfs") return ListRootfs();
    if (cmd == "invoke" || cmd == "submit") return Invoke(rest, cmd == "submit");
    if (cmd == "get" || cmd == "wait" || cmd == "cancel") return Invocation(cmd, rest);
    if (cmd == "workers") return Workers();
    if (cmd == "task") return Task(rest);
    if (cmd == "add-worker" || cmd == "drain" || cmd == "remove-worker") return WorkerOp(cmd, rest);
    if (cmd == "load") return Load();
    if (cmd == "config") return ConfigCmd();
    if (cmd == "durations") return Durations(rest);
    if (cmd == "policy") return Policy();
    if (cmd == "arch") return Arch(rest);
    return Usage(absl::StrCat("unknown command '", cmd, "'"));
  }

 private:
  v1::Controller::Stub* controller() {
    if (!controller_) controller_ = v1::Controller::NewStub(channel_);
    return controller_.get();
  }
  v1::Cluster::Stub* cluster() {
    if (!cluster_) cluster_ = v1::Cluster::NewStub(channel_);
    return cluster_.get();
  }
  v1::Admin::Stub* admin() {
    if (!admin_) admin_ = v1::Admin::NewStub(channel_);
    return admin_.get();
  }

  int Functions() {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::ListFunctionsResponse resp;
    grpc::Status s = controller()->ListFunctions(&ctx, v1::ListFunctionsRequest(), &resp);
    if (!s.ok()) return RpcFailed("ListFunctions", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::vector<std::vector<std::string>> rows = {{"NAME", "VERSION", "RUNTIME", "COMMAND",
                                                   "TIMEOUT", "CALLS", "FAILED", "MEAN EXEC",
                                                   "PREDICTED"}};
    for (const v1::Function& f : resp.functions()) {
      const auto& spec = f.spec();
      rows.push_back({spec.name(), absl::StrCat(f.version()),
                      ShortEnum(v1::RuntimeKind_Name(spec.runtime()), "RUNTIME_KIND_"),
                      absl::StrJoin(spec.command(), " "),
                      spec.limits().has_timeout()
                          ? absl::FormatDuration(FromProto(spec.limits().timeout()))
                          : "default",
                      absl::StrCat(f.stats().invocations()), absl::StrCat(f.stats().failures()),
                      Ms(f.stats().mean_execution()), Ms(f.stats().predicted_execution())});
    }
    PrintTable(rows);
    return 0;
  }

  int Register(const std::vector<std::string>& args) {
    if (args.size() < 2) return Usage("register needs NAME -- CMD [ARGS...]");
    v1::RegisterFunctionRequest req;
    req.set_replace(absl::GetFlag(FLAGS_replace));
    v1::FunctionSpec* spec = req.mutable_spec();
    spec->set_name(args[0]);
    const std::string rootfs = absl::GetFlag(FLAGS_rootfs);
    const std::string image = absl::GetFlag(FLAGS_image);
    const std::string runtime = !absl::GetFlag(FLAGS_runtime).empty() ? absl::GetFlag(FLAGS_runtime)
                                : !image.empty()                      ? "containerd"
                                : !rootfs.empty()                     ? "runc"
                                                                      : "process";
    if (runtime == "process") {
      spec->set_runtime(v1::RUNTIME_KIND_PROCESS);
    } else if (runtime == "runc") {
      spec->set_runtime(v1::RUNTIME_KIND_RUNC);
    } else if (runtime == "containerd") {
      spec->set_runtime(v1::RUNTIME_KIND_CONTAINERD);
    } else {
      return Usage(absl::StrCat("--runtime '", runtime, "' is not process, runc or containerd"));
    }
    spec->set_image(image);
    if (rootfs.rfind("sha256:", 0) == 0) {
      spec->set_rootfs_digest(rootfs);
    } else {
      spec->set_rootfs_path(rootfs);
    }
    spec->set_network(absl::GetFlag(FLAGS_network));
    if (const std::string m = absl::GetFlag(FLAGS_memory); !m.empty()) {
      auto bytes = ParseByteSize(m);
      if (!bytes.ok()) return Usage(absl::StrCat("--memory: ", bytes.status().message()));
      spec->mutable_limits()->set_memory_bytes(*bytes);
    }
    spec->mutable_limits()->set_cpu_cores(absl::GetFlag(FLAGS_cpus));
    if (absl::GetFlag(FLAGS_cache_ways) < 0) return Usage("--cache_ways must not be negative");
    spec->mutable_limits()->set_cache_ways(static_cast<uint32_t>(absl::GetFlag(FLAGS_cache_ways)));
    if (const std::string k = absl::GetFlag(FLAGS_keep_alive); !k.empty()) {
      auto d = ParseDurationText(k);
      if (!d.ok()) return Usage(absl::StrCat("--keep_alive: ", d.status().message()));
      ToProto(*d, spec->mutable_warm()->mutable_keep_alive());
    }
    if (absl::GetFlag(FLAGS_max_instances) < 0 || absl::GetFlag(FLAGS_prewarmed) < 0) {
      return Usage("--max_instances and --prewarmed must not be negative");
    }
    spec->mutable_warm()->set_max_instances(absl::GetFlag(FLAGS_max_instances));
    spec->mutable_warm()->set_prewarmed(absl::GetFlag(FLAGS_prewarmed));
    for (size_t i = 1; i < args.size(); ++i) spec->add_command(args[i]);
    for (const std::string& kv : absl::GetFlag(FLAGS_env)) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      (*spec->mutable_env())[p.first] = p.second;
    }
    spec->set_working_dir(absl::GetFlag(FLAGS_workdir));
    spec->set_description(absl::GetFlag(FLAGS_description));
    if (const std::string t = absl::GetFlag(FLAGS_timeout); !t.empty()) {
      auto d = ParseDurationText(t);
      if (!d.ok()) return Usage(std::string(d.status().message()));
      ToProto(*d, spec->mutable_limits()->mutable_timeout());
    }
    if (const std::string l = absl::GetFlag(FLAGS_output_limit); !l.empty()) {
      auto bytes = ParseByteSize(l);
      if (!bytes.ok()) return Usage(std::string(bytes.status().message()));
      spec->mutable_limits()->set_output_limit_bytes(*bytes);
    }
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::Function resp;
    grpc::Status s = controller()->RegisterFunction(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("RegisterFunction", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::cout << "registered " << resp.spec().name() << " (version " << resp.version() << ")\n";
    return 0;
  }

  int UploadRootfs(const std::vector<std::string>& args) {
    if (args.size() != 1) return Usage("upload-rootfs needs FILE (a tar archive)");
    // Hashed here first, so the master refuses bytes that changed on the way.
    std::ifstream in(args[0], std::ios::binary);
    if (!in) return Usage(absl::StrCat("cannot read ", args[0]));
    Sha256 hash;
    std::string buffer(1 << 20, '\0');
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      hash.Update(absl::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
    }
    const std::string digest = hash.Digest();
    in.clear();
    in.seekg(0);
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Minutes(30)));
    v1::Rootfs resp;
    std::unique_ptr<grpc::ClientWriter<v1::UploadRootfsChunk>> writer =
        controller()->UploadRootfs(&ctx, &resp);
    v1::UploadRootfsChunk chunk;
    chunk.set_digest(digest);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
      if (chunk.data().empty()) break;
      if (!writer->Write(chunk)) break;  // the master ended the call; Finish says why
      chunk.clear_digest();
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (!s.ok()) return RpcFailed("UploadRootfs", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::cout << resp.digest() << "\n";
    return 0;
  }

  int ListRootfs() {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::ListRootfsResponse resp;
    grpc::Status s = controller()->ListRootfs(&ctx, v1::ListRootfsRequest(), &resp);
    if (!s.ok()) return RpcFailed("ListRootfs", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::vector<std::vector<std::string>> rows = {{"DIGEST", "SIZE", "STORED"}};
    for (const v1::Rootfs& r : resp.archives()) {
      rows.push_back(
          {r.digest(), absl::StrFormat("%.1fMiB", r.size_bytes() / 1048576.0),
           absl::FormatTime("%Y-%m-%d %H:%M:%S", FromProto(r.stored()), absl::UTCTimeZone())});
    }
    PrintTable(rows);
    return 0;
  }

  int Delete(const std::vector<std::string>& args) {
    if (args.size() != 1) return Usage("delete needs NAME");
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::DeleteFunctionRequest req;
    req.set_name(args[0]);
    v1::DeleteFunctionResponse resp;
    grpc::Status s = controller()->DeleteFunction(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("DeleteFunction", s);
    std::cout << "deleted " << args[0] << "\n";
    return 0;
  }

  int Invoke(const std::vector<std::string>& args, bool async) {
    if (args.empty()) return Usage("invoke/submit needs NAME");
    v1::InvokeRequest req;
    req.set_function(args[0]);
    for (size_t i = 1; i < args.size(); ++i) req.add_args(args[i]);
    if (absl::GetFlag(FLAGS_cache_ways) < 0) return Usage("--cache_ways must not be negative");
    req.set_cache_ways(static_cast<uint32_t>(absl::GetFlag(FLAGS_cache_ways)));
    req.set_input_size(absl::GetFlag(FLAGS_size));
    req.set_worker_id(absl::GetFlag(FLAGS_worker));
    auto payload = ReadPayload();
    if (!payload.ok()) return Usage(std::string(payload.status().message()));
    req.set_payload(*payload);
    absl::Duration call_timeout = absl::Minutes(16);
    if (const std::string t = absl::GetFlag(FLAGS_timeout); !t.empty()) {
      auto d = ParseDurationText(t);
      if (!d.ok()) return Usage(std::string(d.status().message()));
      ToProto(*d, req.mutable_timeout());
      call_timeout = *d + absl::Seconds(60);
    }
    grpc::ClientContext ctx;
    if (async) {
      SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
      v1::SubmitResponse resp;
      grpc::Status s = controller()->Submit(&ctx, req, &resp);
      if (!s.ok()) return RpcFailed("Submit", s);
      if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
      std::cout << resp.invocation_id() << "\n";
      return 0;
    }
    SetDeadline(&ctx, RpcTimeout(call_timeout));
    v1::InvocationResult resp;
    grpc::Status s = controller()->Invoke(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("Invoke", s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
    } else {
      PrintResult(resp);
    }
    return resp.outcome() == v1::OUTCOME_OK ? 0 : 3;
  }

  int Task(const std::vector<std::string>& args) {
    if (args.empty()) return Usage("task needs upload, benchmark or run");
    const std::string& verb = args[0];
    if (verb == "upload") {
      if (args.size() != 3) return Usage("task upload needs NAME and FILE.tar");
      std::ifstream in(args[2], std::ios::binary);
      if (!in) return Usage(absl::StrCat("cannot read ", args[2]));
      grpc::ClientContext ctx;
      SetDeadline(&ctx, RpcTimeout(absl::Minutes(30)));
      v1::Task resp;
      std::unique_ptr<grpc::ClientWriter<v1::UploadTaskChunk>> writer =
          controller()->UploadTask(&ctx, &resp);
      v1::UploadTaskChunk chunk;
      chunk.set_name(args[1]);
      std::string buffer(1 << 20, '\0');
      while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
        if (chunk.data().empty()) break;
        if (!writer->Write(chunk)) break;  // the master ended the call; Finish says why
        chunk.clear_name();
      }
      writer->WritesDone();
      grpc::Status s = writer->Finish();
      if (!s.ok()) return RpcFailed("UploadTask", s);
      if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
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
      s = controller()->BenchmarkTask(&ctx, req, &resp);
      if (!s.ok()) return RpcFailed("BenchmarkTask", s);
      if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
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
    s = controller()->RunTask(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("RunTask", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::cout << ShortEnum(v1::TaskRunMode_Name(resp.mode()), "TASK_RUN_MODE_") << ", "
              << resp.cache_ways() << " cache ways\n";
    PrintResult(resp.result());
    return resp.result().outcome() == v1::OUTCOME_OK ? 0 : 3;
  }

  int Invocation(const std::string& cmd, const std::vector<std::string>& args) {
    if (args.size() != 1) return Usage(absl::StrCat(cmd, " needs an invocation id"));
    grpc::ClientContext ctx;
    v1::Invocation resp;
    grpc::Status s;
    if (cmd == "get") {
      SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
      v1::GetInvocationRequest req;
      req.set_invocation_id(args[0]);
      s = controller()->GetInvocation(&ctx, req, &resp);
    } else if (cmd == "wait") {
      v1::WaitInvocationRequest req;
      req.set_invocation_id(args[0]);
      absl::Duration wait = absl::Seconds(30);
      if (const std::string t = absl::GetFlag(FLAGS_timeout); !t.empty()) {
        auto d = ParseDurationText(t);
        if (!d.ok()) return Usage(std::string(d.status().message()));
        wait = *d;
      }
      ToProto(wait, req.mutable_timeout());
      SetDeadline(&ctx, RpcTimeout(wait + absl::Seconds(10)));
      s = controller()->WaitInvocation(&ctx, req, &resp);
    } else {
      SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
      v1::CancelInvocationRequest req;
      req.set_invocation_id(args[0]);
      s = controller()->CancelInvocation(&ctx, req, &resp);
    }
    if (!s.ok()) return RpcFailed(cmd, s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    const std::string state =
        ShortEnum(v1::InvocationState_Name(resp.state()), "INVOCATION_STATE_");
    if (resp.state() != v1::INVOCATION_STATE_DONE) {
      std::cout << resp.id() << " " << resp.function() << ": " << state
                << (resp.worker_id().empty() ? "" : absl::StrCat(" on ", resp.worker_id())) << "\n";
      return 0;
    }
    PrintResult(resp.result());
    return resp.result().outcome() == v1::OUTCOME_OK ? 0 : 3;
  }

  int Workers() {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::ListWorkersResponse resp;
    grpc::Status s = cluster()->ListWorkers(&ctx, v1::ListWorkersRequest(), &resp);
    if (!s.ok()) return RpcFailed("ListWorkers", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::vector<std::vector<std::string>> rows = {
        {"ID", "STATE", "ADDRESS", "ZONE", "SLOTS", "CORES", "MEMORY", "LOAD1", "CPU%", "MEM%",
         "DONE", "RUNTIMES", "CACHE WAYS", "IDLE INSTANCES"}};
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
                      w.address(), w.zone(),
                      absl::StrCat(w.slots_used(), "/", w.capacity().slots()),
                      absl::StrCat(w.capacity().cores()),
                      absl::StrFormat("%.1fGiB", w.capacity().memory_bytes() / 1073741824.0),
                      absl::StrFormat("%.2f", w.load().load1()),
                      absl::StrFormat("%.0f", w.load().cpu_percent()),
                      absl::StrFormat("%.0f", w.load().memory_percent()),
                      absl::StrCat(w.completed()), absl::StrJoin(runtimes, ","),
                      // reserved/total, as the master accounts for them
                      w.capacity().cat_supported()
                          ? absl::StrCat(w.cache_ways_reserved(), "/", w.capacity().cache_ways())
                          : "-",
                      warm.empty() ? "-" : absl::StrJoin(warm, " ")});
    }
    PrintTable(rows);
    return 0;
  }

  int WorkerOp(const std::string& cmd, const std::vector<std::string>& args) {
    if (args.size() != 1) return Usage(absl::StrCat(cmd, " needs one argument"));
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    grpc::Status s;
    if (cmd == "add-worker") {
      v1::AddWorkerRequest req;
      req.set_address(args[0]);
      v1::WorkerInfo resp;
      s = cluster()->AddWorker(&ctx, req, &resp);
      if (!s.ok()) return RpcFailed("AddWorker", s);
      if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
      std::cout << "worker " << resp.id() << " joined (" << resp.capacity().slots() << " slots)\n";
    } else if (cmd == "drain") {
      v1::DrainWorkerRequest req;
      req.set_worker_id(args[0]);
      v1::WorkerInfo resp;
      s = cluster()->DrainWorker(&ctx, req, &resp);
      if (!s.ok()) return RpcFailed("DrainWorker", s);
      std::cout << "worker " << resp.id() << " draining (" << resp.slots_used()
                << " still running)\n";
    } else {
      v1::RemoveWorkerRequest req;
      req.set_worker_id(args[0]);
      req.set_force(absl::GetFlag(FLAGS_force));
      v1::RemoveWorkerResponse resp;
      s = cluster()->RemoveWorker(&ctx, req, &resp);
      if (!s.ok()) return RpcFailed("RemoveWorker", s);
      std::cout << "worker " << args[0] << " removed (" << resp.requeued()
                << " invocations re-queued)\n";
    }
    return 0;
  }

  int Load() {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::GetLoadResponse resp;
    grpc::Status s = admin()->GetLoad(&ctx, v1::GetLoadRequest(), &resp);
    if (!s.ok()) return RpcFailed("GetLoad", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::cout << absl::StrFormat(
        "node %s: load %.2f %.2f %.2f, cpu %.0f%%, memory %.0f%%\n"
        "workers ready %d, slots %d/%d used, queued %d, running %d, %.2f req/s (last minute)\n",
        resp.node_id(), resp.node().load1(), resp.node().load5(), resp.node().load15(),
        resp.node().cpu_percent(), resp.node().memory_percent(), resp.workers_ready(),
        resp.slots_used(), resp.slots_total(), resp.queued(), resp.running(),
        resp.requests_per_second());
    return 0;
  }

  int ConfigCmd() {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::GetConfigurationResponse resp;
    grpc::Status s = admin()->GetConfiguration(&ctx, v1::GetConfigurationRequest(), &resp);
    if (!s.ok()) return RpcFailed("GetConfiguration", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::cout << resp.effective_config_yaml();
    return 0;
  }

  int Durations(const std::vector<std::string>& args) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::GetDurationsRequest req;
    if (!args.empty()) req.set_function(args[0]);
    v1::GetDurationsResponse resp;
    grpc::Status s = admin()->GetDurations(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("GetDurations", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::vector<std::vector<std::string>> rows = {
        {"FUNCTION", "COUNT", "MEAN", "P50", "P95", "RECENT"}};
    for (const auto& d : resp.functions()) {
      rows.push_back({d.function(), absl::StrCat(d.count()), Ms(d.mean()), Ms(d.p50()), Ms(d.p95()),
                      absl::StrCat(d.recent_size())});
    }
    PrintTable(rows);
    return 0;
  }

  int Policy() {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::SchedulingPolicy resp;
    grpc::Status s;
    const std::string order = absl::GetFlag(FLAGS_queue_order);
    const std::string placement = absl::GetFlag(FLAGS_placement);
    if (order.empty() && placement.empty()) {
      s = admin()->GetSchedulingPolicy(&ctx, v1::GetSchedulingPolicyRequest(), &resp);
    } else {
      v1::SchedulingPolicy req;
      req.set_queue_order(order);
      req.set_placement(placement);
      s = admin()->SetSchedulingPolicy(&ctx, req, &resp);
    }
    if (!s.ok()) return RpcFailed("SchedulingPolicy", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
    std::cout << "queue order: " << resp.queue_order() << "\nplacement:   " << resp.placement()
              << "\n";
    return 0;
  }

  int Arch(const std::vector<std::string>& args) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    grpc::Status s;
    if (!args.empty() && args[0] == "set") {
      if (args.size() != 2) return Usage("arch set needs one of centralized, federated, ...");
      v1::SetArchitectureRequest req;
      req.set_architecture(args[1]);
      v1::SetArchitectureResponse resp;
      s = admin()->SetArchitecture(&ctx, req, &resp);
      if (!s.ok()) return RpcFailed("SetArchitecture", s);
      if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
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
      s = admin()->UpdateThresholds(&ctx, req, &resp);
      if (!s.ok()) return RpcFailed("UpdateThresholds", s);
      if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
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
    s = admin()->GetArchMetrics(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("GetArchMetrics", s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(resp), 0;
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

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Controller::Stub> controller_;
  std::unique_ptr<v1::Cluster::Stub> cluster_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  if (const std::string config = FindConfigArgument(argc, argv); !config.empty()) {
    if (absl::Status applied = ApplyFlagFile(config); !applied.ok()) {
      return Usage(std::string(applied.message()));
    }
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (absl::Status tls = ApplyTlsFlags(); !tls.ok()) return Usage(std::string(tls.message()));
  if (args.empty()) return Usage("no command given");
  return Cli(absl::GetFlag(FLAGS_master)).Run(args);
}
