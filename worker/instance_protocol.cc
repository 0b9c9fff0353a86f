#include "worker/instance_protocol.h"

#include "worker/shim/frames.h"

namespace fsched::worker {
namespace {

using shim::AppendField;
using shim::AppendU64Field;
using shim::ForEachField;
using shim::ParseU64;

enum RequestTag : uint8_t { kId = 1, kPayload = 2, kDeadline = 3, kEnv = 4 };
enum ReplyTag : uint8_t {
  kKind = 1,
  kReplyId = 2,
  kOutput = 3,
  kError = 4,
  kDurationNs = 5,
  kExitCode = 6,
  kTermSignal = 7,
};

}  // namespace

std::string EncodeInstanceRequest(const InstanceRequest& request) {
  std::string out;
  out.reserve(request.payload.size() + request.invocation_id.size() + 64);
  AppendField(out, kId, request.invocation_id);
  AppendField(out, kPayload, request.payload);
  AppendU64Field(out, kDeadline, request.deadline_unix_ms);
  for (const std::string& var : request.env) AppendField(out, kEnv, var);
  return out;
}

std::optional<InstanceRequest> DecodeInstanceRequest(std::string_view body) {
  InstanceRequest r;
  const bool ok = ForEachField(body, [&r](uint8_t tag, std::string_view v) {
    switch (tag) {
      case kId:
        r.invocation_id = v;
        return true;
      case kPayload:
        r.payload = v;
        return true;
      case kDeadline:
        return ParseU64(v, &r.deadline_unix_ms);
      case kEnv:
        r.env.emplace_back(v);
        return true;
      default:
        return true;  // a newer worker's field
    }
  });
  if (!ok) return std::nullopt;
  return r;
}

std::string EncodeInstanceReply(const InstanceReply& reply) {
  std::string out;
  AppendU64Field(out, kKind, static_cast<uint64_t>(reply.kind));
  AppendField(out, kReplyId, reply.invocation_id);
  AppendField(out, kOutput, reply.output);
  AppendField(out, kError, reply.error);
  AppendU64Field(out, kDurationNs, reply.duration_ns);
  if (reply.kind == InstanceReplyKind::kExited) {
    AppendU64Field(out, kExitCode, static_cast<uint64_t>(reply.exit_code));
    AppendU64Field(out, kTermSignal, static_cast<uint64_t>(reply.term_signal));
  }
  return out;
}

std::optional<InstanceReply> DecodeInstanceReply(std::string_view body) {
  InstanceReply r;
  bool has_kind = false;
  const bool ok = ForEachField(body, [&](uint8_t tag, std::string_view v) {
    uint64_t n = 0;
    switch (tag) {
      case kKind:
        if (!ParseU64(v, &n) || n > static_cast<uint64_t>(InstanceReplyKind::kExited)) {
          return false;
        }
        r.kind = static_cast<InstanceReplyKind>(n);
        has_kind = true;
        return true;
      case kReplyId:
        r.invocation_id = v;
        return true;
      case kOutput:
        r.output = v;
        return true;
      case kError:
        r.error = v;
        return true;
      case kDurationNs:
        return ParseU64(v, &r.duration_ns);
      case kExitCode:
        if (!ParseU64(v, &n) || n > 255) return false;
        r.exit_code = static_cast<int32_t>(n);
        return true;
      case kTermSignal:
        if (!ParseU64(v, &n) || n > 64) return false;
        r.term_signal = static_cast<int32_t>(n);
        return true;
      default:
        return true;  // a newer runtime's field
    }
  });
  if (!ok || !has_kind) return std::nullopt;
  return r;
}

}  // namespace fsched::worker
