#include "common/auth.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/token_directory.h"
#include "fsched/v1/admin.pb.h"
#include "fsched/v1/cluster.pb.h"
#include "fsched/v1/controller.pb.h"
#include "fsched/v1/link.pb.h"
#include "fsched/v1/worker.pb.h"

namespace fsched {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

absl::string_view AccessNeed(v1::Access access) {
  switch (access) {
    case v1::ACCESS_INVOKE:
      return "any role";
    case v1::ACCESS_DEVELOP:
      return "role developer or admin";
    case v1::ACCESS_ADMIN:
      return "role admin";
    case v1::ACCESS_CLUSTER:
      return "the cluster credential (cluster.join_token): it is called by fsched nodes only";
    default:
      return "an access declaration";
  }
}

// Every method of every fsched.v1 service, with the access its rpc declares.
absl::flat_hash_map<std::string, v1::Access> DeclaredAccess() {
  absl::flat_hash_map<std::string, v1::Access> access;
  for (const google::protobuf::FileDescriptor* file :
       {v1::AddWorkerRequest::descriptor()->file(), v1::GetLoadRequest::descriptor()->file(),
        v1::RegisterFunctionRequest::descriptor()->file(), v1::Register::descriptor()->file(),
        v1::JoinRequest::descriptor()->file(), v1::CreateTokenRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const google::protobuf::MethodDescriptor* method = service->method(m);
        access[method->full_name()] = method->options().GetExtension(v1::access);
      }
    }
  }
  return access;
}

}  // namespace

std::string RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_INVOKER:
      return "invoker";
    case v1::ROLE_DEVELOPER:
      return "developer";
    case v1::ROLE_ADMIN:
      return "admin";
    case v1::ROLE_CLUSTER:
      return "cluster";
    default:
      return "none";
  }
}

absl::StatusOr<v1::Role> ParseTokenRole(absl::string_view name) {
  for (v1::Role role : {v1::ROLE_INVOKER, v1::ROLE_DEVELOPER, v1::ROLE_ADMIN}) {
    if (name == RoleName(role)) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("role '", name.substr(0, 40),
                   "' is not one a token can have: invoker (invoke, submit, get, wait, cancel), "
                   "developer (also register, delete and upload functions and tasks) or admin "
                   "(also membership, policies, configuration and tokens)"));
}

bool RoleAllows(v1::Role role, v1::Access access) {
  switch (access) {
    case v1::ACCESS_INVOKE:
      return role == v1::ROLE_INVOKER || role == v1::ROLE_DEVELOPER || role == v1::ROLE_ADMIN ||
             role == v1::ROLE_CLUSTER;
    case v1::ACCESS_DEVELOP:
      return role == v1::ROLE_DEVELOPER || role == v1::ROLE_ADMIN;
    case v1::ACCESS_ADMIN:
      return role == v1::ROLE_ADMIN;
    case v1::ACCESS_CLUSTER:
      return role == v1::ROLE_CLUSTER;
    default:
      return false;
  }
}

absl::StatusOr<std::string> NewToken() {
  std::array<char, 32> random;
  if (getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    return absl::InternalError("the kernel gave no random bytes for a token (getrandom failed)");
  }
  return absl::StrCat("fsched_",
                      absl::WebSafeBase64Escape(absl::string_view(random.data(), random.size())));
}

std::string TokenSha256(absl::string_view token) {
  Sha256 hash;
  hash.Update(token);
  return DigestHex(hash.Digest());
}

absl::Status WriteSecretFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create '", tmp, "'"));
  }
  // O_CREAT's mode does not apply to a file left over by an earlier run.
  bool ok = ::fchmod(fd, 0600) == 0;
  ok = ok && ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write '", path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("token file '", path, "' does not exist"));
  }
  // Group-readable is allowed: Kubernetes mounts Secrets 0440 under fsGroup.
  if ((st.st_mode & 007) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("token file '", path,
                     "' is readable by every user of this host; a token is a password "
                     "(chmod 600 it)"));
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) line.clear();
  line = std::string(absl::StripAsciiWhitespace(line));
  if (line.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("token file '", path, "' is empty"));
  }
  return line;
}

Gate::Gate(Options options)
    : options_(std::move(options)),
      cluster_sha256_(options_.cluster_token.empty() ? "" : TokenSha256(options_.cluster_token)),
      access_(DeclaredAccess()),
      rates_(options_.clock != nullptr ? options_.clock : RealClock::Get()) {}

absl::StatusOr<v1::Identity> Gate::Decide(std::optional<absl::string_view> authorization,
                                          absl::string_view method,
                                          absl::string_view certificate) const {
  const auto declared = access_.find(method);
  if (declared == access_.end() || declared->second == v1::ACCESS_UNSPECIFIED) {
    return absl::InternalError(
        absl::StrCat(method, " declares no access ((fsched.v1.access) on its rpc); refused"));
  }
  v1::Identity caller;
  if (options_.open) {
    caller.set_name("anyone");
    caller.set_role(v1::ROLE_ADMIN);
    caller.set_source("open");
    return caller;
  }
  if ((!authorization.has_value() || authorization->empty()) && !certificate.empty()) {
    const auto known = options_.certificates.find(certificate);
    if (known == options_.certificates.end()) {
      return absl::UnauthenticatedError(
          absl::StrCat("the client certificate '", certificate,
                       "' has no role here (auth.certificates) and no token was sent: ", method,
                       " needs one or the other"));
    }
    caller.set_name(std::string(certificate));
    caller.set_role(known->second);
    caller.set_source("certificate");
    if (!RoleAllows(caller.role(), declared->second)) {
      return absl::PermissionDeniedError(absl::StrCat("certificate '", caller.name(), "' has role ",
                                                      RoleName(caller.role()), "; ", method,
                                                      " needs ", AccessNeed(declared->second)));
    }
    return caller;
  }
  if (!authorization.has_value() || authorization->empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        method,
        " needs a credential: send the header 'authorization: Bearer TOKEN' (fschedctl: "
        "--token, FSCHED_TOKEN or --token_file)"));
  }
  absl::string_view token = *authorization;
  if (!absl::ConsumePrefix(&token, kBearer) || token.empty()) {
    return absl::UnauthenticatedError(
        "the authorization header is not 'Bearer TOKEN' (the only scheme fsched accepts)");
  }
  const std::string sha256 = TokenSha256(token);
  if (!cluster_sha256_.empty() && sha256 == cluster_sha256_) {
    caller.set_name("cluster");
    caller.set_role(v1::ROLE_CLUSTER);
    caller.set_source("cluster");
  } else if (std::optional<v1::Identity> known =
                 options_.tokens ? options_.tokens->Find(sha256) : std::nullopt) {
    caller = std::move(*known);
  } else if (declared->second == v1::ACCESS_CLUSTER) {
    return absl::UnauthenticatedError(absl::StrCat(
        "join token rejected: ", method,
        " needs the cluster's credential (cluster.join_token), and this token is not it"));
  } else {
    return absl::UnauthenticatedError(
        "the token is not known here, or was revoked (fschedctl token list, as an admin, shows "
        "the live ones)");
  }
  if (!RoleAllows(caller.role(), declared->second)) {
    return absl::PermissionDeniedError(absl::StrCat("token '", caller.name(), "' has role ",
                                                    RoleName(caller.role()), "; ", method,
                                                    " needs ", AccessNeed(declared->second)));
  }
  return caller;
}

absl::StatusOr<v1::Identity> Gate::Admit(const grpc::ServerContextBase& ctx,
                                         absl::string_view method) const {
  const auto& metadata = ctx.client_metadata();
  const auto header = metadata.find("authorization");
  // A verified client certificate (mutual TLS) names the caller when no token does.
  std::string certificate;
  if (header == metadata.end() && !options_.certificates.empty()) {
    const std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
    if (auth != nullptr && auth->IsPeerAuthenticated()) {
      const std::vector<grpc::string_ref> cn = auth->FindPropertyValues("x509_common_name");
      if (!cn.empty()) certificate.assign(cn.front().data(), cn.front().size());
    }
  }
  absl::StatusOr<v1::Identity> caller =
      header == metadata.end()
          ? Decide(std::nullopt, method, certificate)
          : Decide(absl::string_view(header->second.data(), header->second.size()), method);
  if (caller.ok() && caller->has_rate()) {
    RETURN_IF_ERROR(rates_.Take(caller->name(), caller->rate()));
  }
  return caller;
}

grpc::ServerUnaryReactor* Refuse(const Gate& gate, grpc::CallbackServerContext* ctx,
                                 absl::string_view method) {
  absl::StatusOr<v1::Identity> caller = gate.Admit(*ctx, method);
  if (caller.ok()) return nullptr;
  return FinishUnary(ctx, caller.status());
}

grpc::ServerUnaryReactor* RefuseInvocation(const Gate& gate, grpc::CallbackServerContext* ctx,
                                           absl::string_view method,
                                           const v1::InvokeRequest& request) {
  absl::StatusOr<v1::Identity> caller = gate.Admit(*ctx, method);
  if (!caller.ok()) return FinishUnary(ctx, caller.status());
  const bool node = caller->role() == v1::ROLE_CLUSTER || caller->source() == "open";
  if (!node && (request.hops() != 0 || request.route_size() != 0)) {
    return FinishUnary(ctx, absl::InvalidArgumentError(
                                "hops and route are set by fsched nodes when they forward a "
                                "request; a client leaves them empty"));
  }
  return nullptr;
}

}  // namespace fsched
