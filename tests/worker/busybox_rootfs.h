// A tiny root filesystem for container tests: busybox-static and its applets,
// built at test time from Debian's busybox-static (scripts/setup.sh).
#pragma once

#include <string>

namespace fsched::worker::testing {

/// Creates `dir` holding bin/busybox, applet links, and the mount points runc
/// needs. Returns false (and the reason in *why) if it cannot.
bool MakeBusyboxRootfs(const std::string& dir, std::string* why);

/// Empty when this machine can run containers at all; otherwise why not (not
/// root, or a chroot), for GTEST_SKIP. A missing runc or busybox is a failure,
/// not a skip: scripts/setup.sh installs both.
std::string WhyNoContainers();

}  // namespace fsched::worker::testing
