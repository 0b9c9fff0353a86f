// What the processes' two civetweb servers (the Prometheus endpoint and the
// HTTP entry) share: reading their "host:port" key, and stopping promptly.
#pragma once

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsched {

struct ListenAddress {
  std::string host;  // as written, brackets of an IPv6 literal removed
  int port = 0;      // 0 = any free port
};

/// Parses `listen` ("host:port", "[::1]:port"); INVALID_ARGUMENT naming
/// `key` (the config key it came from) otherwise.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen, absl::string_view key);

/// Runs `stop` (which destroys a civetweb server bound to host:port) while
/// connecting to the listener every 20 ms. Debian's civetweb polls its
/// listening socket in 2 s quanta and looks at its stop flag only between
/// polls: a connection ends the poll at once, so stopping takes milliseconds.
void StopWhileKnocking(const ListenAddress& bound, absl::FunctionRef<void()> stop);

}  // namespace fsched
