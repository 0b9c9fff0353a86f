// What is mounted where, from /proc/self/mountinfo.
#pragma once

#include <string>

namespace fsched::worker {

/// Whether `path` is a mount point in this process's mount namespace. runc
/// needs "/" to be one (it is not inside a plain chroot).
bool IsMountPoint(const std::string& path);

}  // namespace fsched::worker
