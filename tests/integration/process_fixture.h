// Real fsched processes for integration tests: spawned with a port file
// (port 0, read back; never a guessed port), logs kept per process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsched::testing {

class Process {
 public:
  /// Spawns argv with stdout and stderr appended to `log_path`.
  static absl::StatusOr<std::unique_ptr<Process>> Start(const std::vector<std::string>& argv,
                                                        const std::string& log_path);
  /// Kills (SIGKILL) and reaps the process if it still runs.
  ~Process();

  void Signal(int sig);
  /// \return the exit code (128+signal if killed), or nullopt at the timeout.
  std::optional<int> Wait(absl::Duration timeout);
  bool running();
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

 private:
  Process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_code_;
};

/// Waits until `path` holds a port number; fails early if `process` exits.
absl::StatusOr<int> WaitForPortFile(const std::string& path, Process* process,
                                    absl::Duration timeout = absl::Seconds(20));

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

/// A fresh directory for one test.
std::string TestDir();

/// The bootstrap admin token of every master the tests start.
inline constexpr char kAdminToken[] = "fsched_integration-admin-token";
/// Makes a master started on `state_dir` take kAdminToken as its bootstrap
/// admin token (written where it looks by default), and makes this process's
/// channels and the tools it spawns (FSCHED_TOKEN) call with it.
void UseAdminToken(const std::string& state_dir);

}  // namespace fsched::testing
