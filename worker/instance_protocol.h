// The instance protocol between a worker and a persistent function instance
// (docs/runtimes.md): the instance reads request frames from fd 3 and writes
// reply frames to fd 4, in the shim's framing (worker/shim/frames.h). Its
// stdout and stderr are the function's log, not the protocol, so a handler's
// print cannot corrupt a frame. The first reply is unasked: ready, or
// init-failed with the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsched::worker {

inline constexpr int kInstanceRequestFd = 3;
inline constexpr int kInstanceReplyFd = 4;

struct InstanceRequest {
  std::string invocation_id;
  std::string payload;
  uint64_t deadline_unix_ms = 0;  // when the worker kills the call
  std::vector<std::string> env;   // "KEY=value" for this call only
};

enum class InstanceReplyKind : uint8_t {
  kReady = 0,       // initialised: send calls
  kOk = 1,          // output holds the handler's result
  kError = 2,       // error holds what the handler raised
  kInitFailed = 3,  // error says why; the instance exits
  // Sent by fsched-shim, not by runtimes: the instance process in its
  // container ended (exit_code or term_signal says how), and the container goes.
  kExited = 4,
};

struct InstanceReply {
  InstanceReplyKind kind = InstanceReplyKind::kReady;
  std::string invocation_id;  // echoed from the request (empty for ready/init-failed)
  std::string output;
  std::string error;
  uint64_t duration_ns = 0;  // the handler's own time, measured by the runtime; 0 = not given
  int32_t exit_code = 0;     // kExited
  int32_t term_signal = 0;   // kExited: the signal that killed it, 0 = none
};

std::string EncodeInstanceRequest(const InstanceRequest& request);
std::string EncodeInstanceReply(const InstanceReply& reply);
/// nullopt when `body` (a frame without its length) is malformed.
std::optional<InstanceRequest> DecodeInstanceRequest(std::string_view body);
std::optional<InstanceReply> DecodeInstanceReply(std::string_view body);

}  // namespace fsched::worker
