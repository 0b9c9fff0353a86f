// Where the master records the invocations it accepted and has not finished,
// so a restart loses none (docs/architecture.md#persistence). The controller
// records one before the client hears its id; the invocation table says when
// it finished. An interface, so the core can run without one (fsched-sim,
// tests) and tests can watch what is written.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/types.pb.h"
#include "master/function_store.h"

namespace fsched::master {

class InvocationJournal {
 public:
  virtual ~InvocationJournal() = default;
  /// Before the invocation is answered with its id; an error refuses it.
  virtual absl::Status Accepted(const v1::AcceptedInvocation& invocation) = 0;
  /// Once it finished (or was never queued). A failure is logged: the record
  /// then comes back after a restart and runs again.
  virtual void Finished(const std::string& id) = 0;
};

/// The journal in the master's SQLite state (fsched.db, WAL): a commit is a
/// write to the log, no fsync, so an accepted invocation survives the
/// master's crash, not the machine's (synchronous=NORMAL). One writer thread
/// commits in groups: every invocation accepted while the previous group was
/// being written, and every finished one, go in the next transaction.
class StoreJournal final : public InvocationJournal {
 public:
  explicit StoreJournal(FunctionStore* store);
  /// Writes what is pending, then stops the writer.
  ~StoreJournal() override;
  StoreJournal(const StoreJournal&) = delete;
  StoreJournal& operator=(const StoreJournal&) = delete;

  /// Waits for the commit of the group it joined.
  absl::Status Accepted(const v1::AcceptedInvocation& invocation) override;
  /// Goes with the next group; nobody waits for it.
  void Finished(const std::string& id) override;

 private:
  struct Group {
    std::vector<std::pair<std::string, std::string>> accepted;  // id, record
    bool written = false;
    absl::Status status;
  };
  void Loop();

  FunctionStore* const store_;
  absl::Mutex mu_;
  std::shared_ptr<Group> open_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> finished_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace fsched::master
