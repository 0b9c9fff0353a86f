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

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void Put(std::string& out, uint8_t tag, std::string_view value) {
  out.push_back(static_cast<char>(tag));
  PutU32(out, static_cast<uint32_t>(value.size()));
  out.append(value);
}

void PutU64(std::string& out, uint8_t tag, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  Put(out, tag, std::string_view(bytes, 8));
}

bool AsU64(std::string_view value, uint64_t* out) {
  if (value.size() != 8) return false;
  *out = 0;
  for (int i = 0; i < 8; ++i) {
    *out |= static_cast<uint64_t>(static_cast<unsigned char>(value[i])) << (8 * i);
  }
  return true;
}

// Calls `field(tag, value)` for each field; false if the body is truncated or
// a field is refused.
template <typename Fn>
bool ForEachField(std::string_view body, Fn field) {
  while (!body.empty()) {
    if (body.size() < 5) return false;
    const uint8_t tag = static_cast<uint8_t>(body[0]);
    const uint32_t len = GetU32(body.data() + 1);
    if (body.size() - 5 < len) return false;
    if (!field(tag, body.substr(5, len))) return false;
    body.remove_prefix(5 + len);
  }
  return true;
}

}  // namespace

std::string EncodeRequest(const Request& request) {
  std::string out;
  for (const std::string& arg : request.argv) Put(out, kArgv, arg);
  for (const std::string& var : request.env) Put(out, kEnv, var);
  Put(out, kCwd, request.cwd);
  Put(out, kStdin, request.stdin_data);
  PutU64(out, kOutputLimit, request.output_limit_bytes);
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
        return AsU64(v, &r.output_limit_bytes);
      default:
        return true;  // a newer worker's field: ignored
    }
  });
  if (!ok || r.argv.empty()) return std::nullopt;
  return r;
}

std::string EncodeReply(const Reply& reply) {
  std::string out;
  PutU64(out, kKind, static_cast<uint64_t>(reply.kind));
  PutU64(out, kExitCode, static_cast<uint64_t>(static_cast<uint32_t>(reply.exit_code)));
  PutU64(out, kSignal, static_cast<uint64_t>(reply.term_signal));
  Put(out, kStdout, reply.stdout_data);
  Put(out, kStderr, reply.stderr_data);
  PutU64(out, kFlags, (reply.stdout_truncated ? 1u : 0u) | (reply.stderr_truncated ? 2u : 0u));
  PutU64(out, kExecutionNs, reply.execution_ns);
  PutU64(out, kCpuNs, reply.cpu_ns);
  PutU64(out, kMaxRss, reply.max_rss_kb);
  Put(out, kMessage, reply.message);
  PutU64(out, kPid, static_cast<uint64_t>(reply.pid));
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
    if (!AsU64(v, &n)) return tag > kPid;  // unknown non-integer fields are a newer shim's
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

std::string Frame(std::string_view body) {
  std::string out;
  out.reserve(4 + body.size());
  PutU32(out, static_cast<uint32_t>(body.size()));
  out.append(body);
  return out;
}

bool TakeFrame(std::string& buffer, std::string* body, bool* oversized) {
  *oversized = false;
  if (buffer.size() < 4) return false;
  const uint32_t len = GetU32(buffer.data());
  if (len > kMaxFrameBytes) {
    *oversized = true;
    return false;
  }
  if (buffer.size() - 4 < len) return false;
  body->assign(buffer, 4, len);
  buffer.erase(0, 4 + static_cast<size_t>(len));
  return true;
}

}  // namespace fsched::shim
