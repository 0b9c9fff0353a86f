#include "tools/fschedctl/commands.h"

#include "absl/strings/str_cat.h"

namespace fsched::ctl {

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const commands = new std::vector<Command>{
      {"functions", Functions},
      {"register", Register},
      {"delete", Delete},
      {"upload-rootfs", UploadRootfs},
      {"rootfs", ListRootfs},
      {"invoke", Invoke},
      {"submit", Invoke},
      {"get", Invocation},
      {"wait", Invocation},
      {"cancel", Invocation},
      {"task", Task},
      {"workers", Workers},
      {"add-worker", WorkerOp},
      {"drain", WorkerOp},
      {"remove-worker", WorkerOp},
      {"load", Load},
      {"recovery", RecoveryCmd},
      {"config", ConfigCmd},
      {"durations", Durations},
      {"policy", Policy},
      {"arch", Arch},
      {"token", Token},
      {"whoami", WhoAmI},
  };
  return *commands;
}

int RunCommand(Cli& cli, const Args& args) {
  if (args.empty()) return Usage("no command given");
  const Args rest(args.begin() + 1, args.end());
  for (const Command& c : Commands()) {
    if (args[0] == c.name) return c.run(cli, args[0], rest);
  }
  return Usage(absl::StrCat("unknown command '", args[0], "'"));
}

}  // namespace fsched::ctl
