// fschedctl Access: tokens (create, list, revoke) and whoami.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/proto_time.h"
#include "tools/fschedctl/cli.h"
#include "tools/fschedctl/commands.h"
#include "tools/fschedctl/flags.h"

namespace fsched::ctl {
namespace {

std::string When(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0
             ? "-"
             : absl::FormatTime("%Y-%m-%d %H:%M:%S", FromProto(t), absl::UTCTimeZone());
}

int Create(Cli& cli, const Args& args) {
  if (args.size() != 1) return Usage("token create takes one NAME (and --role)");
  absl::StatusOr<v1::Role> role = ParseTokenRole(absl::GetFlag(FLAGS_role));
  if (!role.ok()) return Usage(std::string(role.status().message()));
  v1::CreateTokenRequest req;
  req.set_name(args[0]);
  req.set_role(*role);
  if (absl::GetFlag(FLAGS_burst) < 0) return Usage("--burst must not be negative");
  req.mutable_rate()->set_requests_per_second(absl::GetFlag(FLAGS_rate));
  req.mutable_rate()->set_burst(static_cast<uint32_t>(absl::GetFlag(FLAGS_burst)));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::CreatedToken resp;
  grpc::Status s = cli.tokens()->CreateToken(&ctx, req, &resp);
  if (!s.ok()) return RpcFailed("CreateToken", s);
  if (Json()) return PrintJson(resp), 0;
  // The token alone on stdout, so `TOKEN=$(fschedctl token create ...)` works.
  std::cout << resp.token() << "\n";
  std::cerr << "token '" << resp.info().name() << "' (" << RoleName(resp.info().role())
            << "): shown once, only its hash is kept\n";
  return 0;
}

int List(Cli& cli) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::ListTokensResponse resp;
  grpc::Status s = cli.tokens()->ListTokens(&ctx, v1::ListTokensRequest(), &resp);
  if (!s.ok()) return RpcFailed("ListTokens", s);
  if (Json()) return PrintJson(resp), 0;
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ROLE", "RATE", "CREATED (UTC)", "REVOKED"}};
  for (const v1::TokenInfo& t : resp.tokens()) {
    const std::string rate =
        t.rate().requests_per_second() > 0
            ? absl::StrCat(t.rate().requests_per_second(), "/s",
                           t.rate().burst() > 0 ? absl::StrCat(" burst ", t.rate().burst()) : "")
            : "-";
    rows.push_back({t.name(), RoleName(t.role()), rate, When(t.created()), When(t.revoked())});
  }
  PrintTable(rows);
  return 0;
}

int Revoke(Cli& cli, const Args& args) {
  if (args.size() != 1) return Usage("token revoke takes one NAME");
  v1::RevokeTokenRequest req;
  req.set_name(args[0]);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::TokenInfo resp;
  grpc::Status s = cli.tokens()->RevokeToken(&ctx, req, &resp);
  if (!s.ok()) return RpcFailed("RevokeToken", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << "token '" << resp.name() << "' revoked at " << When(resp.revoked()) << " UTC\n";
  return 0;
}

}  // namespace

int Token(Cli& cli, const std::string& /*command*/, const Args& args) {
  if (args.empty()) return Usage("token needs create, list or revoke");
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "create") return Create(cli, rest);
  if (args[0] == "list") return List(cli);
  if (args[0] == "revoke") return Revoke(cli, rest);
  return Usage(absl::StrCat("unknown token command '", args[0], "' (create, list or revoke)"));
}

int WhoAmI(Cli& cli, const std::string& /*command*/, const Args& /*args*/) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, RpcTimeout(absl::Seconds(30)));
  v1::Identity resp;
  grpc::Status s = cli.tokens()->WhoAmI(&ctx, v1::WhoAmIRequest(), &resp);
  if (!s.ok()) return RpcFailed("WhoAmI", s);
  if (Json()) return PrintJson(resp), 0;
  std::cout << resp.name() << " (" << RoleName(resp.role()) << ", " << resp.source() << ")\n";
  return 0;
}

}  // namespace fsched::ctl
