// The shim's instance mode, for a persistent function in a container: the
// shim stays PID 1 (it reaps orphans and its exit ends the container) and
// runs the instance process once, wired for the instance protocol: the
// container's stdin becomes the instance's fd 3 (requests), its stdout fd 4
// (replies), and the instance's own stdout and stderr both go to the
// container's stderr (the function's log). When the instance ends, the shim
// writes an `exited` frame with how it ended and exits with its status.
#pragma once

namespace fsched::shim {

/// Runs `argv` (null-terminated, argv[0] looked up on the PATH) as above;
/// returns the shim's exit status.
int RunInstance(char** argv);

}  // namespace fsched::shim
