// fschedctl's session with one master and what every command group shares:
// the usage text, tables for people and --json for machines, deadlines, the
// payload flags and the exit codes.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fsched/v1/admin.grpc.pb.h"
#include "fsched/v1/auth.grpc.pb.h"
#include "fsched/v1/cluster.grpc.pb.h"
#include "fsched/v1/controller.grpc.pb.h"

namespace fsched::ctl {

using Args = std::vector<std::string>;

/// Exit status: 0 on success, 1 when the RPC failed, 2 for a usage error, 3
/// when an invoked function did not succeed.
inline constexpr int kExitRpcFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFunctionFailed = 3;

extern const char kUsage[];

/// One channel to the master (--master, TLS from the flags), stubs made on first use.
class Cli {
 public:
  explicit Cli(const std::string& master);

  v1::Controller::Stub* controller();
  v1::Cluster::Stub* cluster();
  v1::Admin::Stub* admin();
  v1::Tokens::Stub* tokens();

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Controller::Stub> controller_;
  std::unique_ptr<v1::Cluster::Stub> cluster_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Tokens::Stub> tokens_;
};

/// Prints `why` and the usage text to stderr; returns kExitUsage.
int Usage(const std::string& why);
/// Prints the RPC's status code and message to stderr; returns kExitRpcFailed.
int RpcFailed(const std::string& rpc, const grpc::Status& status);

bool Json();  // --json
void PrintJson(const google::protobuf::Message& message);
/// Column-aligned; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);
/// The function's output on stdout, its stderr and a one-line summary on stderr.
void PrintResult(const v1::InvocationResult& result);
std::string Ms(const google::protobuf::Duration& d);
/// "OUTCOME_OK" with prefix "OUTCOME_" -> "ok".
std::string ShortEnum(const std::string& full, const std::string& prefix);

/// --rpc_timeout, else `fallback`.
absl::Duration RpcTimeout(absl::Duration fallback);
void SetDeadline(grpc::ClientContext* ctx, absl::Duration timeout);
/// --payload, or the contents of --payload_file ("-" = stdin).
absl::StatusOr<std::string> ReadPayload();

}  // namespace fsched::ctl
