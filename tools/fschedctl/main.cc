// fschedctl: operator CLI for an fsched master (functions, invocations, tasks,
// workers, load and scheduling policy). The commands live in fschedctl_lib
// (commands.h); this reads the flags and runs one.
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/client_flags.h"
#include "common/flag_file.h"
#include "tools/fschedctl/cli.h"
#include "tools/fschedctl/commands.h"
#include "tools/fschedctl/flags.h"

int main(int argc, char** argv) {
  using namespace fsched;
  absl::SetProgramUsageMessage(ctl::kUsage);
  if (const std::string config = FindConfigArgument(argc, argv); !config.empty()) {
    if (absl::Status applied = ApplyFlagFile(config); !applied.ok()) {
      return ctl::Usage(std::string(applied.message()));
    }
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  const ctl::Args args(positional.begin() + 1, positional.end());
  if (absl::Status flags = ApplyClientFlags(); !flags.ok()) {
    return ctl::Usage(std::string(flags.message()));
  }
  if (args.empty()) return ctl::Usage("no command given");
  ctl::Cli cli(absl::GetFlag(FLAGS_master));
  return ctl::RunCommand(cli, args);
}
