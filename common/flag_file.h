// --config for the command-line tools: a YAML file whose keys are the
// program's flags ("rates: [2, 5, 15]", "master: 10.0.0.1:50051"), so an
// fsched-bench experiment can be kept next to its results and repeated, and
// fschedctl can remember its master. Flags given on the command line win.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace fsched {

/// Sets each flag named by a top-level key of the YAML file at `path`. A list
/// becomes a comma-separated value. INVALID_ARGUMENT naming the key for an
/// unknown flag, a nested mapping or a value the flag refuses; NOT_FOUND when
/// the file cannot be read.
absl::Status ApplyFlagFile(const std::string& path);

/// The value of --config in argv (either "--config=F" or "--config F"), or
/// empty; read before the flags are parsed so the command line can override.
std::string FindConfigArgument(int argc, char** argv);

}  // namespace fsched
