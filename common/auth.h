// Who is calling, and may they: every fsched server's handlers ask the Gate
// first. A caller presents "authorization: Bearer TOKEN"; the token is either
// the cluster's own credential (cluster.join_token, fsched nodes calling each
// other) or one the master issued, checked by its SHA-256 against a
// TokenDirectory. What a method needs is declared on the rpc itself
// ((fsched.v1.access) in fsched/v1/auth.proto), so the rule and the API are
// read in one place; a method without a declaration is refused.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/grpc_status.h"
#include "common/rate_limiter.h"
#include "fsched/v1/auth.pb.h"
#include "fsched/v1/types.pb.h"

namespace fsched {

class TokenDirectory;

/// The role's name as users write it ("invoker", "developer", "admin", "cluster").
std::string RoleName(v1::Role role);
/// INVALID_ARGUMENT naming the roles a token may have.
absl::StatusOr<v1::Role> ParseTokenRole(absl::string_view name);
/// Whether a caller with `role` may call a method declaring `access`.
bool RoleAllows(v1::Role role, v1::Access access);

/// A new bearer token: "fsched_" and 43 characters of base64url (256 random bits).
absl::StatusOr<std::string> NewToken();
/// The hex SHA-256 of a token: what directories keep and compare.
std::string TokenSha256(absl::string_view token);

/// Writes `content` to `path` readable by its owner only (0600), atomically.
absl::Status WriteSecretFile(const std::string& path, const std::string& content);
/// The first line of a token file, trimmed. NOT_FOUND naming the path when it
/// is missing; FAILED_PRECONDITION when it is empty or readable by every user
/// (its group may read it: Kubernetes mounts Secrets 0440 under an fsGroup).
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

class Gate {
 public:
  struct Options {
    bool open = false;                       // auth.mode: none: every caller may do everything
    std::string cluster_token;               // the cluster credential; empty = none accepted
    const TokenDirectory* tokens = nullptr;  // issued tokens; null = only the cluster's
    const Clock* clock = nullptr;            // for tokens' rates; null = real time
    // Verified client certificates' CNs (mutual TLS) and their roles: callers
    // that send no token are known by these.
    absl::flat_hash_map<std::string, v1::Role> certificates;
  };
  explicit Gate(Options options);

  /// The caller of `method` ("fsched.v1.Controller.Invoke"), from the value of
  /// its "authorization" header (nullopt when absent) or, without one, the
  /// CN of its verified client certificate (empty = none). UNAUTHENTICATED
  /// for no, a malformed, an unknown or a revoked token, or a certificate
  /// without a role here; PERMISSION_DENIED when its role is too small;
  /// INTERNAL for a method that declares no access.
  absl::StatusOr<v1::Identity> Decide(std::optional<absl::string_view> authorization,
                                      absl::string_view method,
                                      absl::string_view certificate = {}) const;
  /// Decide, with the header read from the call; then the caller's rate
  /// (RESOURCE_EXHAUSTED with RetryAfter when it is spent). Every admitted
  /// call counts against it.
  absl::StatusOr<v1::Identity> Admit(const grpc::ServerContextBase& ctx,
                                     absl::string_view method) const;

 private:
  Options options_;
  std::string cluster_sha256_;
  absl::flat_hash_map<std::string, v1::Access> access_;  // every fsched.v1 method
  mutable RateLimiter rates_;                            // by token name
};

/// A unary handler's first line: null when the caller may go on, otherwise the
/// call finished with the gate's answer.
grpc::ServerUnaryReactor* Refuse(const Gate& gate, grpc::CallbackServerContext* ctx,
                                 absl::string_view method);

/// Refuse for the invocation entries (Controller.Invoke and Submit,
/// Worker.Invoke): also INVALID_ARGUMENT when a caller other than an fsched
/// node sets `hops` or `route`, which fsched sets when it forwards a request
/// (a client setting them could skip nodes or cut a route short).
grpc::ServerUnaryReactor* RefuseInvocation(const Gate& gate, grpc::CallbackServerContext* ctx,
                                           absl::string_view method,
                                           const v1::InvokeRequest& request);

/// A streaming call refused before it started: finishes with `status` and
/// deletes itself. One class per stream shape.
template <typename Request>
class RefusedReadReactor final : public grpc::ServerReadReactor<Request> {
 public:
  explicit RefusedReadReactor(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};
template <typename Response>
class RefusedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriteReactor(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};
template <typename Request, typename Response>
class RefusedBidiReactor final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedBidiReactor(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace fsched
