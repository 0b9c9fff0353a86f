// fsched-bench --config: an experiment as a YAML file whose keys are the
// command-line flags ("rates: [2, 5, 15]", "duration: 30s"), so a run can be
// kept next to its results and repeated. Flags given on the command line win.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace fsched::bench {

/// Sets each flag named by a top-level key of the YAML file at `path`. A list
/// becomes a comma-separated value. INVALID_ARGUMENT naming the key for an
/// unknown flag, a nested mapping or a value the flag refuses; NOT_FOUND when
/// the file cannot be read.
absl::Status ApplyExperimentFile(const std::string& path);

/// The value of --config in argv (either "--config=F" or "--config F"), or
/// empty; read before the flags are parsed so the command line can override.
std::string FindConfigArgument(int argc, char** argv);

}  // namespace fsched::bench
