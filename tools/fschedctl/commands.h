// fschedctl's command table: each command's name and the function of its
// group that runs it (functions.cc, invocations.cc, tasks.cc, workers.cc,
// admin.cc, tokens.cc). A new command is one entry here and one function in its group.
#pragma once

#include <string>
#include <vector>

#include "tools/fschedctl/cli.h"

namespace fsched::ctl {

/// Runs one command; `command` is its name (one function serves several:
/// invoke and submit, get, wait and cancel), `args` what follows it.
using CommandFn = int (*)(Cli& cli, const std::string& command, const Args& args);

struct Command {
  const char* name;
  CommandFn run;
};

/// Every command, in the order of the usage text.
const std::vector<Command>& Commands();

/// Runs args[0] with args[1..]; an unknown command is a usage error (kExitUsage).
int RunCommand(Cli& cli, const Args& args);

// functions.cc
int Functions(Cli& cli, const std::string& command, const Args& args);
int Register(Cli& cli, const std::string& command, const Args& args);
int Delete(Cli& cli, const std::string& command, const Args& args);
int UploadRootfs(Cli& cli, const std::string& command, const Args& args);
int ListRootfs(Cli& cli, const std::string& command, const Args& args);
// invocations.cc
int Invoke(Cli& cli, const std::string& command, const Args& args);      // invoke, submit
int Invocation(Cli& cli, const std::string& command, const Args& args);  // get, wait, cancel
// tasks.cc
int Task(Cli& cli, const std::string& command, const Args& args);
// workers.cc
int Workers(Cli& cli, const std::string& command, const Args& args);
int WorkerOp(Cli& cli, const std::string& command, const Args& args);  // add-worker, drain, ...
// tokens.cc
int Token(Cli& cli, const std::string& command, const Args& args);  // create, list, revoke
int WhoAmI(Cli& cli, const std::string& command, const Args& args);
// admin.cc
int Load(Cli& cli, const std::string& command, const Args& args);
int ConfigCmd(Cli& cli, const std::string& command, const Args& args);
int RecoveryCmd(Cli& cli, const std::string& command, const Args& args);
int Durations(Cli& cli, const std::string& command, const Args& args);
int Policy(Cli& cli, const std::string& command, const Args& args);
int Arch(Cli& cli, const std::string& command, const Args& args);

}  // namespace fsched::ctl
