#include "common/daemon.h"

#include <csignal>

#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/status_macros.h"

namespace fsched {

absl::Status WriteServingPorts(const Config& config, int port, int metrics_port, int http_port) {
  // The gRPC port file last: scripts and tests take it as "all ports are written".
  if (!config.metrics().port_file().empty() && metrics_port != 0) {
    RETURN_IF_ERROR(WritePortFile(config.metrics().port_file(), metrics_port));
  }
  if (!config.http().port_file().empty() && http_port != 0) {
    RETURN_IF_ERROR(WritePortFile(config.http().port_file(), http_port));
  }
  if (!config.port_file().empty()) RETURN_IF_ERROR(WritePortFile(config.port_file(), port));
  return absl::OkStatus();
}

sigset_t BlockTerminationSignals() {
  // Signals are taken synchronously (sigwait) by the main thread; a thread that
  // started before the block could receive them asynchronously instead.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

int WaitForTerminationSignal(const sigset_t& signals) {
  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  FSCHED_LOG(kInfo, "signal %d: shutting down", received);
  return received;
}

void DisableLockCycleDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace fsched
