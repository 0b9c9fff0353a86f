// Names the calling thread (as `top -H`, `perf` and /proc/<pid>/task/*/comm
// show it), so an operator can tell a worker's slot threads from its link.
#pragma once

#include <string_view>

namespace fsched {

/// Linux keeps 15 bytes of a name: a longer one is cut.
void NameThisThread(std::string_view name);

}  // namespace fsched
