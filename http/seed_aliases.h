// The seeds' HTTP endpoints (seed 001's /entry, /load, /arch_metrics,
// /reload, /update_threshold, /configuration, /durations; seed 003's
// /controller/task/run|benchmark, /submit and /cluster/worker/add,
// /cluster/workers; its /controller/task/new is an upload: task_upload.h)
// as aliases of fsched's API: each becomes one unary call, its request
// translated from the seed's shape into protobuf's JSON mapping. docs/http.md
// lists them side by side with the seeds' requests.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsched::http {

struct SeedCall {
  std::string service;  // "fsched.v1.Admin"
  std::string method;   // "GetLoad"
  std::string json;     // the request, in protobuf's JSON mapping
};

struct SeedAlias {
  const char* allow;  // the HTTP method the endpoint takes
  // The call; INVALID_ARGUMENT naming what the seed's body lacks or has wrong.
  // Unset when the request's HTTP method is not `allow` (a 405).
  std::optional<absl::StatusOr<SeedCall>> call;
};

/// Decoded query parameters, in order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

/// nullopt when `path` is none of the seeds' endpoints. A GET endpoint's
/// query parameters become its request's fields (/durations?function=f&limit=5).
std::optional<SeedAlias> MatchSeedAlias(absl::string_view http_method, absl::string_view path,
                                        const QueryParams& query, absl::string_view body);

}  // namespace fsched::http
