// Calls this process's own gRPC services, by name, through an in-process
// channel: the HTTP entry reaches exactly what a gRPC client reaches, through
// the same handlers, authentication (the caller's bearer token travels as
// the call's "authorization"), rate limits and status mapping. One generic
// path serves every unary method; nothing here knows a method's meaning.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace google::protobuf {
class Message;
}

namespace fsched::http {

struct CallOptions {
  std::optional<std::string> authorization;  // the "authorization" value to send, if any
  absl::Duration timeout = absl::InfiniteDuration();
};

/// What the process behind the bridge serves, so a call of anything else is
/// told where to go instead of meeting gRPC's bare UNIMPLEMENTED.
struct ServedServices {
  std::vector<std::string> services;  // full names; empty = every fsched service
  std::string node_kind = "master";   // "this worker does not serve ..."
};

class GrpcBridge {
 public:
  explicit GrpcBridge(std::shared_ptr<grpc::Channel> channel, ServedServices served = {});

  /// A unary call of `method` ("fsched.v1.Controller.Invoke"). The server's
  /// status comes back as is, with its retry hint (RetryAfter) when it sent one;
  /// NOT_FOUND naming what is served for a service this process does not serve.
  /// `accepted_id` (if set) gets the invocation id the server sent when it
  /// accepted the call (empty if none), whether the call then failed or not.
  absl::Status Call(absl::string_view method, const google::protobuf::Message& request,
                    google::protobuf::Message* response, const CallOptions& options,
                    std::string* accepted_id = nullptr);

  /// OK when the process serves `service` ("fsched.v1.Controller"); NOT_FOUND
  /// naming what it serves and where to go otherwise.
  absl::Status CheckServed(absl::string_view service) const;

  /// The same with the request and response in protobuf's JSON mapping.
  /// NOT_FOUND for a service or method this process does not have,
  /// UNIMPLEMENTED for a streaming one, INVALID_ARGUMENT with the parser's
  /// message for JSON that is not the method's request.
  absl::StatusOr<std::string> CallJson(absl::string_view service, absl::string_view method,
                                       absl::string_view json, const CallOptions& options);

 private:
  grpc::GenericStub stub_;
  ServedServices served_;
};

/// A message as protobuf's JSON mapping (lowerCamelCase names, enums by name).
std::string ToJson(const google::protobuf::Message& message);

}  // namespace fsched::http
