#include "http/grpc_bridge.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/algorithm/container.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"

namespace fsched::http {
namespace {

namespace pb = google::protobuf;

grpc::ByteBuffer Serialize(const pb::Message& message) {
  std::string bytes = message.SerializeAsString();
  grpc::Slice slice(std::move(bytes));
  return grpc::ByteBuffer(&slice, 1);
}

bool Parse(const grpc::ByteBuffer& buffer, pb::Message* message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  bytes.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return message->ParseFromString(bytes);
}

}  // namespace

GrpcBridge::GrpcBridge(std::shared_ptr<grpc::Channel> channel, ServedServices served)
    : stub_(std::move(channel)), served_(std::move(served)) {}

absl::Status GrpcBridge::Call(absl::string_view method, const pb::Message& request,
                              pb::Message* response, const CallOptions& options,
                              std::string* accepted_id) {
  if (accepted_id != nullptr) accepted_id->clear();
  // "fsched.v1.Controller.Invoke" -> "/fsched.v1.Controller/Invoke".
  const size_t dot = method.rfind('.');
  if (dot == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", method, "' is not Service.Method"));
  }
  const absl::string_view service = method.substr(0, dot);
  if (!served_.services.empty() && !absl::c_linear_search(served_.services, service)) {
    return absl::NotFoundError(
        absl::StrCat("this ", served_.node_kind, " does not serve ", service, " (its entry serves ",
                     absl::StrJoin(served_.services, ", "), "): ask a master"));
  }
  const std::string path = absl::StrCat("/", service, "/", method.substr(dot + 1));
  grpc::ClientContext ctx;
  if (options.authorization) ctx.AddMetadata("authorization", *options.authorization);
  if (options.timeout != absl::InfiniteDuration()) {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  }
  const grpc::ByteBuffer in = Serialize(request);
  grpc::ByteBuffer out;
  grpc::Status status;
  absl::Notification done;
  stub_.UnaryCall(&ctx, path, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (accepted_id != nullptr) {
    const auto& metadata = ctx.GetServerInitialMetadata();
    if (auto it = metadata.find(kInvocationIdHeader); it != metadata.end()) {
      accepted_id->assign(it->second.data(), it->second.size());
    }
  }
  if (!status.ok()) {
    absl::Status error = FromGrpcStatus(status);
    const auto& trailers = ctx.GetServerTrailingMetadata();
    if (auto it = trailers.find(kRetryAfterTrailer); it != trailers.end()) {
      int64_t ms = 0;
      if (absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms)) {
        SetRetryAfter(&error, absl::Milliseconds(ms));
      }
    }
    return error;
  }
  if (!Parse(out, response)) {
    return absl::InternalError(absl::StrCat(method, " answered with a response it cannot parse"));
  }
  return absl::OkStatus();
}

absl::Status GrpcBridge::CheckServed(absl::string_view service) const {
  if (served_.services.empty() || absl::c_linear_search(served_.services, service)) {
    return absl::OkStatus();
  }
  return absl::NotFoundError(
      absl::StrCat("this ", served_.node_kind, " does not serve ", service, " (its entry serves ",
                   absl::StrJoin(served_.services, ", "), "): ask a master"));
}

absl::StatusOr<std::string> GrpcBridge::CallJson(absl::string_view service,
                                                 absl::string_view method, absl::string_view json,
                                                 const CallOptions& options) {
  const pb::ServiceDescriptor* s =
      pb::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  if (s == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no service '", service, "' (e.g. fsched.v1.Controller, fsched.v1.Admin)"));
  }
  const pb::MethodDescriptor* m = s->FindMethodByName(std::string(method));
  if (m == nullptr) {
    return absl::NotFoundError(absl::StrCat(service, " has no method '", method, "'"));
  }
  if (m->client_streaming() || m->server_streaming()) {
    return absl::UnimplementedError(absl::StrCat(
        service, ".", method, " streams; only unary methods have a JSON form (use fschedctl)"));
  }
  pb::MessageFactory* factory = pb::MessageFactory::generated_factory();
  std::unique_ptr<pb::Message> request(factory->GetPrototype(m->input_type())->New());
  std::unique_ptr<pb::Message> response(factory->GetPrototype(m->output_type())->New());
  // An empty body is the empty request, as `{}` is.
  if (!json.empty()) {
    const auto parsed = pb::util::JsonStringToMessage(std::string(json), request.get());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("the body is not a JSON ",
                                                     m->input_type()->full_name(), ": ",
                                                     std::string(parsed.message())));
    }
  }
  absl::Status status = Call(m->full_name(), *request, response.get(), options);
  if (!status.ok()) return status;
  return ToJson(*response);
}

std::string ToJson(const pb::Message& message) {
  std::string out;
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  // The generated types print without failing; an empty object is the fallback.
  if (!pb::util::MessageToJsonString(message, &out, options).ok()) out = "{}";
  return out;
}

}  // namespace fsched::http
