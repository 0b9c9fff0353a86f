// fsched-bench over the HTTP entry (docs/http.md): each call is
// POST /function/{name} with the payload as its body, the invocation's facts
// read back from the X-Fsched-* and Server-Timing headers, so a run over HTTP
// is summarised exactly as one over gRPC. libcurl does the HTTP: blocking
// calls on a pool of easy handles (each keeps its connection alive), open-loop
// calls on one multi handle driven by its own thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/fsched-bench/targets.h"

namespace fsched::bench {

struct HttpTargetOptions {
  std::vector<std::string> addresses;  // host:port of HTTP entries, at least one
  std::string token;                   // sent as "Authorization: Bearer ..."; empty = none
  // Open loop: connections the multi handle keeps at most; calls beyond them
  // wait in libcurl for one to free (the server holds a thread per connection).
  int max_connections = 16;
};

absl::StatusOr<std::unique_ptr<InvokeTargets>> HttpTargets(const HttpTargetOptions& options);

/// What an answer of POST /function/{name} says. OK when the function was
/// called, whatever its outcome (200, 502, 504 or 503 with X-Fsched-Outcome),
/// with `result` filled from the headers and the body; otherwise the gRPC
/// status the entry answered with (its JSON error body), or, for a body that
/// is not one, the code HTTP's status stands for and the body as message.
grpc::Status ReadFunctionReply(long http_status,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string body, v1::InvocationResult* result);

}  // namespace fsched::bench
