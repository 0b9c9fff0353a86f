// How the HTTP entry answers a status: gRPC's codes as HTTP status codes
// (docs/http.md has the table), and the JSON body of an error.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace fsched::http {

/// The HTTP status for a call that ended with `code` (200 for OK).
int HttpStatusFor(absl::StatusCode code);

/// {"code": 5, "status": "NOT_FOUND", "message": "..."}: google.rpc.Status's
/// JSON shape with the code's name, as grpc-gateway answers.
std::string ErrorJson(const absl::Status& status);

}  // namespace fsched::http
