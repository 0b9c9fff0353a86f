// Which directories of a host may serve as a function's root filesystem: a
// container's root becomes the function's whole view of the host, so never
// the host's root, a whole top-level directory, or a system directory (the
// function could read or, with a writable mount, change it). The master
// checks a registered path's normal form; a worker checks where the path
// really leads on its disk (symlinks resolved), against its own allow-list.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fsched {

/// INVALID_ARGUMENT saying why `path` may not be a root filesystem: not
/// absolute, the host's root or a whole top-level directory, inside a system
/// directory (all on the normal form, so "/../etc" is caught), or, when
/// `allowed_dirs` is not empty, under none of them.
absl::Status CheckRootfsDirectory(const std::string& path,
                                  const std::vector<std::string>& allowed_dirs = {});

}  // namespace fsched
