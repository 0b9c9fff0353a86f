// Runs a function as a child process of the worker: posix_spawn of its argv in
// its own process group, as the configured user with its limits (set between
// fork and exec), with only the function's environment, payload on stdin,
// stdout/stderr captured up to a cap,
// killed (whole group) at its timeout, CPU time from wait4. A function that
// names an archive (rootfs_digest: tasks do) runs in the directory where the
// worker unpacked it.
#pragma once

#include "worker/child_process.h"
#include "worker/rootfs_cache.h"
#include "worker/runtime.h"

namespace fsched::worker {

class ProcessRuntime final : public Runtime {
 public:
  std::string_view name() const override { return "process"; }
  v1::RuntimeKind kind() const override { return v1::RUNTIME_KIND_PROCESS; }
  ExecResult Run(const ExecRequest& request, const RunControl& control) override;
  bool can_freeze() const override { return true; }
  /// Where archives named by digest come from (not owned; null = none).
  void set_archives(RootfsCache* archives) { archives_ = archives; }
  /// The user and limits every function runs with (before the first Run).
  void set_identity(ChildIdentity identity) { identity_ = std::move(identity); }

 private:
  RootfsCache* archives_ = nullptr;
  ChildIdentity identity_;
};

}  // namespace fsched::worker
