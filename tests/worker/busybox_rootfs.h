// Small root filesystems for container tests, built at test time: busybox-static
// and its applets (Debian's busybox-static, scripts/setup.sh), and one with the
// host's Python 3 and what it links.
#pragma once

#include <string>

namespace fsched::worker::testing {

/// Creates `dir` holding bin/busybox, applet links, and the mount points runc
/// needs. Returns false (and the reason in *why) if it cannot.
bool MakeBusyboxRootfs(const std::string& dir, std::string* why);

/// Creates `dir` as MakeBusyboxRootfs does, plus the host's python3 (usr/bin),
/// its standard library and the shared libraries it links, hard-linked from
/// the host where they share a filesystem (copied where not).
bool MakePythonRootfs(const std::string& dir, std::string* why);

/// Empty when this machine can run containers at all; otherwise why not (not
/// root, or a chroot), for GTEST_SKIP. A missing runc or busybox is a failure,
/// not a skip: scripts/setup.sh installs both.
std::string WhyNoContainers();

}  // namespace fsched::worker::testing
