// fschedctl Invocations: invoke, submit, get, wait, cancel.
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
#include "common/grpc_status.h"
#include "common/proto_time.h"
#include "tools/fschedctl/cli.h"
#include "tools/fschedctl/commands.h"
#include "tools/fschedctl/flags.h"
#include "tools/fschedctl/upload.h"

namespace fsched::ctl {

int Invoke(Cli& cli, const std::string& command, const Args& args) {
  const bool async = command == "submit";
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
    grpc::Status s = cli.controller()->Submit(&ctx, req, &resp);
    if (!s.ok()) return RpcFailed("Submit", s);
    if (Json()) return PrintJson(resp), 0;
    std::cout << resp.invocation_id() << "\n";
    return 0;
  }
  SetDeadline(&ctx, RpcTimeout(call_timeout));
  v1::InvocationResult resp;
  grpc::Status s = cli.controller()->Invoke(&ctx, req, &resp);
  if (!s.ok()) {
    // Accepted before the call broke (a dropped connection, the deadline, a
    // master restart): it still runs, and its id says where to find it.
    const auto& header = ctx.GetServerInitialMetadata();
    if (const auto id = header.find(kInvocationIdHeader); id != header.end()) {
      const std::string invocation(id->second.data(), id->second.size());
      std::cerr << "invocation " << invocation << " was accepted before the call failed; "
                << "fschedctl wait " << invocation << " answers with its result\n";
    }
    return RpcFailed("Invoke", s);
  }
  if (Json()) {
    PrintJson(resp);
  } else {
    PrintResult(resp);
  }
  return resp.outcome() == v1::OUTCOME_OK ? 0 : 3;
}

int Invocation(Cli& cli, const std::string& command, const Args& args) {
  if (args.size() != 1) return Usage(absl::StrCat(command, " needs an invocation id"));
  grpc::ClientContext ctx;
  v1::Invocation resp;
  grpc::Status s;
  if (command == "get") {
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::GetInvocationRequest req;
    req.set_invocation_id(args[0]);
    s = cli.controller()->GetInvocation(&ctx, req, &resp);
  } else if (command == "wait") {
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
    s = cli.controller()->WaitInvocation(&ctx, req, &resp);
  } else {
    SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
    v1::CancelInvocationRequest req;
    req.set_invocation_id(args[0]);
    s = cli.controller()->CancelInvocation(&ctx, req, &resp);
  }
  if (!s.ok()) return RpcFailed(command, s);
  if (Json()) return PrintJson(resp), 0;
  const std::string state = ShortEnum(v1::InvocationState_Name(resp.state()), "INVOCATION_STATE_");
  if (resp.state() != v1::INVOCATION_STATE_DONE) {
    std::cout << resp.id() << " " << resp.function() << ": " << state
              << (resp.worker_id().empty() ? "" : absl::StrCat(" on ", resp.worker_id())) << "\n";
    return 0;
  }
  PrintResult(resp.result());
  return resp.result().outcome() == v1::OUTCOME_OK ? 0 : 3;
}

}  // namespace fsched::ctl
