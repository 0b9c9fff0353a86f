// Start-up and shutdown steps every fsched daemon (master, worker) shares.
#pragma once

#include <signal.h>

#include <string>

#include "absl/status/status.h"
#include "common/config.h"

namespace fsched {

/// Writes the bound gRPC port to config.port_file, the metrics port to
/// config.metrics.port_file and the HTTP port to config.http.port_file, where
/// those are set (a port 0 = that endpoint is off).
absl::Status WriteServingPorts(const Config& config, int port, int metrics_port, int http_port = 0);

/// Blocks SIGINT and SIGTERM for this thread and every thread it starts later,
/// and ignores SIGPIPE. Call before any thread exists. \return the set to wait on.
sigset_t BlockTerminationSignals();

/// Waits until SIGINT or SIGTERM arrives. \return the signal number.
int WaitForTerminationSignal(const sigset_t& signals);

/// Turns off Abseil's lock-cycle detection, which Debian's build leaves on: a
/// debugging aid whose bookkeeping costs every lock on the scheduling hot
/// path. Binaries call this; the tests keep detection on and so catch cycles.
void DisableLockCycleDetection();

}  // namespace fsched
