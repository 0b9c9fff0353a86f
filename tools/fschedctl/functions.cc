// fschedctl Functions: list, register, delete; root filesystem archives.
#include <cmath>
#include <filesystem>
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
#include "common/function_call.h"
#include "common/proto_time.h"
#include "tools/fschedctl/cli.h"
#include "tools/fschedctl/commands.h"
#include "tools/fschedctl/flags.h"
#include "tools/fschedctl/upload.h"

namespace fsched::ctl {

int Functions(Cli& cli, const std::string& command, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::ListFunctionsResponse resp;
  grpc::Status s = cli.controller()->ListFunctions(&ctx, v1::ListFunctionsRequest(), &resp);
  if (!s.ok()) return RpcFailed("ListFunctions", s);
  if (Json()) return PrintJson(resp), 0;
  std::vector<std::vector<std::string>> rows = {{"NAME", "VERSION", "RUNTIME", "COMMAND", "TIMEOUT",
                                                 "CALLS", "FAILED", "MEAN EXEC", "PREDICTED"}};
  for (const v1::Function& f : resp.functions()) {
    const auto& spec = f.spec();
    // A hosted handler shows its language and handler; a persistent command is marked.
    const bool persistent = IsPersistent(spec);
    rows.push_back(
        {spec.name(), absl::StrCat(f.version()),
         !spec.language().empty()
             ? spec.language()
             : absl::StrCat(ShortEnum(v1::RuntimeKind_Name(spec.runtime()), "RUNTIME_KIND_"),
                            persistent ? " (persistent)" : ""),
         !spec.language().empty() ? spec.handler() : absl::StrJoin(spec.command(), " "),
         spec.limits().has_timeout() ? absl::FormatDuration(FromProto(spec.limits().timeout()))
                                     : "default",
         absl::StrCat(f.stats().invocations()), absl::StrCat(f.stats().failures()),
         Ms(f.stats().mean_execution()), Ms(f.stats().predicted_execution())});
  }
  PrintTable(rows);
  return 0;
}

namespace {

// --code: a directory on every worker (made absolute), an archive here
// (uploaded, then named by digest), or a digest already uploaded. In a
// container (--rootfs, --image) the code is part of its root filesystem:
// --code is the directory inside it.
int SetCode(Cli& cli, const std::string& code, v1::FunctionSpec* spec) {
  if (!spec->rootfs_path().empty() || !spec->rootfs_digest().empty() || !spec->image().empty()) {
    if (code.empty() || code[0] != '/') {
      return Usage(
          absl::StrCat("--code '", code,
                       "' must be the absolute directory of the code inside the "
                       "container's root filesystem (e.g. /app) with --rootfs or --image"));
    }
    spec->set_working_dir(code);
    return 0;
  }
  if (code.rfind("sha256:", 0) == 0) {
    spec->set_rootfs_digest(code);
    return 0;
  }
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(code, ec);
  if (std::filesystem::is_directory(path, ec)) {
    spec->set_working_dir(path.lexically_normal().string());
    return 0;
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Usage(absl::StrCat("--code '", code,
                              "' is neither a directory, an archive here, nor a sha256: digest"));
  }
  std::ifstream in(path, std::ios::binary);
  absl::StatusOr<std::string> digest = DigestOf(in);
  if (!digest.ok()) return Usage(absl::StrCat(code, ": ", digest.status().message()));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Minutes(30)));
  v1::Rootfs stored;
  grpc::Status s = ctl::UploadRootfs(cli.controller(), &ctx, *digest, in, &stored);
  if (!s.ok()) return RpcFailed("UploadRootfs", s);
  spec->set_rootfs_digest(stored.digest());
  return 0;
}

// --runtime python|node, --handler, --code, --lifetime and the instance knobs.
int SetInstanceModel(Cli& cli, const std::string& runtime, v1::FunctionSpec* spec) {
  if (runtime == "python" || runtime == "node") spec->set_language(runtime);
  spec->set_handler(absl::GetFlag(FLAGS_handler));
  if (const std::string code = absl::GetFlag(FLAGS_code); !code.empty()) {
    if (int rc = SetCode(cli, code, spec); rc != 0) return rc;
  }
  if (const std::string l = absl::GetFlag(FLAGS_lifetime); l == "exec") {
    spec->set_lifetime(v1::LIFETIME_EXEC);
  } else if (l == "persistent") {
    spec->set_lifetime(v1::LIFETIME_PERSISTENT);
  } else if (!l.empty()) {
    return Usage(absl::StrCat("--lifetime '", l, "' is not exec or persistent"));
  }
  if (const std::string t = absl::GetFlag(FLAGS_init_timeout); !t.empty()) {
    auto d = ParseDurationText(t);
    if (!d.ok()) return Usage(absl::StrCat("--init_timeout: ", d.status().message()));
    ToProto(*d, spec->mutable_limits()->mutable_init_timeout());
  }
  if (absl::GetFlag(FLAGS_recycle_after_calls) < 0) {
    return Usage("--recycle_after_calls must not be negative");
  }
  spec->mutable_warm()->set_recycle_after_calls(absl::GetFlag(FLAGS_recycle_after_calls));
  if (absl::GetFlag(FLAGS_instance_concurrency) < 0) {
    return Usage("--instance_concurrency must not be negative");
  }
  spec->mutable_warm()->set_concurrency(
      static_cast<uint32_t>(absl::GetFlag(FLAGS_instance_concurrency)));
  if (const std::string m = absl::GetFlag(FLAGS_recycle_above_memory); !m.empty()) {
    auto bytes = ParseByteSize(m);
    if (!bytes.ok())
      return Usage(absl::StrCat("--recycle_above_memory: ", bytes.status().message()));
    spec->mutable_warm()->set_recycle_above_memory_bytes(*bytes);
  }
  return 0;
}

}  // namespace

int Register(Cli& cli, const std::string& /*command*/, const Args& args) {
  const std::string language = absl::GetFlag(FLAGS_runtime);
  const bool hosted = language == "python" || language == "node";
  const std::string rootfs = absl::GetFlag(FLAGS_rootfs);
  const std::string image = absl::GetFlag(FLAGS_image);
  const std::string runtime = !language.empty() && !hosted ? language
                              : !image.empty()             ? "containerd"
                              : !rootfs.empty()            ? "runc"
                                                           : "process";
  v1::RuntimeKind kind;
  if (runtime == "process") {
    kind = v1::RUNTIME_KIND_PROCESS;
  } else if (runtime == "runc") {
    kind = v1::RUNTIME_KIND_RUNC;
  } else if (runtime == "containerd") {
    kind = v1::RUNTIME_KIND_CONTAINERD;
  } else {  // before the arguments: they depend on which runtime was meant
    return Usage(
        absl::StrCat("--runtime '", runtime, "' is not process, runc, containerd, python or node"));
  }
  if (args.empty() || (args.size() < 2 && !hosted)) {
    return Usage(
        "register needs NAME -- CMD [ARGS...], or NAME --runtime python|node --code "
        "DIR --handler H");
  }
  v1::RegisterFunctionRequest req;
  req.set_replace(absl::GetFlag(FLAGS_replace));
  v1::FunctionSpec* spec = req.mutable_spec();
  spec->set_name(args[0]);
  spec->set_runtime(kind);
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
  if (absl::GetFlag(FLAGS_max_concurrency) < 0)
    return Usage("--max_concurrency must not be negative");
  spec->set_max_concurrency(static_cast<uint32_t>(absl::GetFlag(FLAGS_max_concurrency)));
  for (size_t i = 1; i < args.size(); ++i) spec->add_command(args[i]);
  for (const std::string& kv : absl::GetFlag(FLAGS_env)) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    (*spec->mutable_env())[p.first] = p.second;
  }
  spec->set_working_dir(absl::GetFlag(FLAGS_workdir));
  if (int rc = SetInstanceModel(cli, language, spec); rc != 0) return rc;
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
  grpc::Status s = cli.controller()->RegisterFunction(&ctx, req, &resp);
  if (!s.ok()) return RpcFailed("RegisterFunction", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << "registered " << resp.spec().name() << " (version " << resp.version() << ")\n";
  return 0;
}

int UploadRootfs(Cli& cli, const std::string& /*command*/, const Args& args) {
  if (args.size() != 1) return Usage("upload-rootfs needs FILE (a tar archive)");
  // Hashed here first, so the master refuses bytes that changed on the way.
  std::ifstream in(args[0], std::ios::binary);
  if (!in) return Usage(absl::StrCat("cannot read ", args[0]));
  absl::StatusOr<std::string> digest = DigestOf(in);
  if (!digest.ok()) return Usage(absl::StrCat(args[0], ": ", digest.status().message()));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Minutes(30)));
  v1::Rootfs resp;
  grpc::Status s = ctl::UploadRootfs(cli.controller(), &ctx, *digest, in, &resp);
  if (!s.ok()) return RpcFailed("UploadRootfs", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << resp.digest() << "\n";
  return 0;
}

int ListRootfs(Cli& cli, const std::string& /*command*/, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::ListRootfsResponse resp;
  grpc::Status s = cli.controller()->ListRootfs(&ctx, v1::ListRootfsRequest(), &resp);
  if (!s.ok()) return RpcFailed("ListRootfs", s);
  if (Json()) return PrintJson(resp), 0;
  std::vector<std::vector<std::string>> rows = {{"DIGEST", "SIZE", "STORED"}};
  for (const v1::Rootfs& r : resp.archives()) {
    rows.push_back(
        {r.digest(), absl::StrFormat("%.1fMiB", r.size_bytes() / 1048576.0),
         absl::FormatTime("%Y-%m-%d %H:%M:%S", FromProto(r.stored()), absl::UTCTimeZone())});
  }
  PrintTable(rows);
  return 0;
}

int Delete(Cli& cli, const std::string& /*command*/, const Args& args) {
  if (args.size() != 1) return Usage("delete needs NAME");
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::DeleteFunctionRequest req;
  req.set_name(args[0]);
  v1::DeleteFunctionResponse resp;
  grpc::Status s = cli.controller()->DeleteFunction(&ctx, req, &resp);
  if (!s.ok()) return RpcFailed("DeleteFunction", s);
  std::cout << "deleted " << args[0] << "\n";
  return 0;
}

}  // namespace fsched::ctl
