#include "worker/shim/protocol.h"

#include <cstring>

namespace fsched::shim {
namespace {

enum RequestTag : uint8_t { kArgv = 1, kEnv = 2, kCwd = 3, kStdin = 4, kOutputLimit = 5 };
enum ReplyTag : uint8_t {
  kKind = 1,
  kExitCode = 2,
  kSignal = 3,
  kStdout = 4,
  kStderr = 5,
  kFlags = 6,
  kExecutionNs = 7,
  kCpuNs = 8,
  kMessage = 9,
  kMaxRss = 10,
  kPid = 11,
};

}  // namespace

std::string EncodeRequest(const Request& request) {
  std::string out;
  for (const std::string& arg : request.argv) AppendField(out, kArgv, arg);
  for (const std::string& var : request.env) AppendField(out, kEnv, var);
  AppendField(out, kCwd, request.cwd);
  AppendField(out, kStdin, request.stdin_data);
  AppendU64Field(out, kOutputLimit, request.output_limit_bytes);
  return out;
}

std::optional<Request> DecodeRequest(std::string_view body) {
  Request r;
  const bool ok = ForEachField(body, [&r](uint8_t tag, std::string_view v) {
    switch (tag) {
      case kArgv:
        r.argv.emplace_back(v);
        return true;
      case kEnv:
        r.env.emplace_back(v);
        return true;
      case kCwd:
        r.cwd = v;
        return true;
      case kStdin:
        r.stdin_data = v;
        return true;
      case kOutputLimit:
        return ParseU64(v, &r.output_limit_bytes);
      default:
        return true;  // a newer worker's field: ignored
    }
  });
  if (!ok || r.argv.empty()) return std::nullopt;
  return r;
}

std::string EncodeReply(const Reply& reply) {
  std::string out;
  AppendU64Field(out, kKind, static_cast<uint64_t>(reply.kind));
  AppendU64Field(out, kExitCode, static_cast<uint64_t>(static_cast<uint32_t>(reply.exit_code)));
  AppendU64Field(out, kSignal, static_cast<uint64_t>(reply.term_signal));
  AppendField(out, kStdout, reply.stdout_data);
  AppendField(out, kStderr, reply.stderr_data);
  AppendU64Field(out, kFlags,
                 (reply.stdout_truncated ? 1u : 0u) | (reply.stderr_truncated ? 2u : 0u));
  AppendU64Field(out, kExecutionNs, reply.execution_ns);
  AppendU64Field(out, kCpuNs, reply.cpu_ns);
  AppendU64Field(out, kMaxRss, reply.max_rss_kb);
  AppendField(out, kMessage, reply.message);
  AppendU64Field(out, kPid, static_cast<uint64_t>(reply.pid));
  return out;
}

std::optional<Reply> DecodeReply(std::string_view body) {
  Reply r;
  bool has_kind = false;
  const bool ok = ForEachField(body, [&](uint8_t tag, std::string_view v) {
    uint64_t n = 0;
    switch (tag) {
      case kStdout:
        r.stdout_data = v;
        return true;
      case kStderr:
        r.stderr_data = v;
        return true;
      case kMessage:
        r.message = v;
        return true;
      default:
        break;
    }
    if (!ParseU64(v, &n)) return tag > kPid;  // unknown non-integer fields are a newer shim's
    switch (tag) {
      case kKind:
        if (n > static_cast<uint64_t>(ReplyKind::kCancelled)) return false;
        r.kind = static_cast<ReplyKind>(n);
        has_kind = true;
        return true;
      case kExitCode:
        r.exit_code = static_cast<int32_t>(static_cast<uint32_t>(n));
        return true;
      case kSignal:
        r.term_signal = static_cast<int32_t>(n);
        return true;
      case kFlags:
        r.stdout_truncated = (n & 1) != 0;
        r.stderr_truncated = (n & 2) != 0;
        return true;
      case kExecutionNs:
        r.execution_ns = n;
        return true;
      case kCpuNs:
        r.cpu_ns = n;
        return true;
      case kMaxRss:
        r.max_rss_kb = n;
        return true;
      case kPid:
        r.pid = static_cast<int32_t>(n);
        return true;
      default:
        return true;
    }
  });
  if (!ok || !has_kind) return std::nullopt;
  return r;
}

}  // namespace fsched::shim
