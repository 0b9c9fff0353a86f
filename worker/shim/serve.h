// Runs one request inside the container: fork/exec in a new process group,
// stdin fed, stdout/stderr captured up to the limit (the rest drained), and
// the whole group killed when the call ends or the worker cancels it.
#pragma once

#include <csignal>
#include <string>
#include <vector>

#include "worker/shim/protocol.h"

namespace fsched::shim {

/// Where execve finds `name`: itself when it has a '/', else the first
/// executable of that name on the PATH in `env` (a default PATH without one).
std::string ResolveCommand(const std::string& name, const std::vector<std::string>& env);

/// `cancel` is set by a signal handler (SIGUSR1); Serve polls it and returns
/// kCancelled after killing the call. Timeouts are the worker's job: it owns
/// the clock that excludes time the container spent frozen.
Reply Serve(const Request& request, const volatile sig_atomic_t& cancel);

}  // namespace fsched::shim
