// Where the master records the invocations it accepted and has not finished,
// so a restart loses none (docs/architecture.md#persistence). The controller
// records one before the client hears its id; the invocation table says when
// it finished. An interface, so the core can run without one (fsched-sim,
// tests) and tests can watch what is written.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"
#include "master/function_store.h"

namespace fsched::master {

class InvocationJournal {
 public:
  virtual ~InvocationJournal() = default;
  /// Records an invocation before it is answered with its id or can run.
  /// `recorded` runs once with the outcome (an error refuses it): on the
  /// journal's own thread, so a caller that serves RPCs on one of gRPC's few
  /// callback threads does not hold it for the write.
  virtual void Accept(const v1::AcceptedInvocation& invocation,
                      std::function<void(absl::Status)> recorded) = 0;
  /// Accept, waited for (tests, benchmarks; never on a thread that serves RPCs).
  absl::Status Accepted(const v1::AcceptedInvocation& invocation);
  /// Answers what waits and stops taking more (an acceptance after it is
  /// refused at once). Called by the owner before what the answers reach goes.
  virtual void Close() {}
  /// Its attempt number `attempts` went to `worker_id` at `at`; an empty
  /// worker: it is queued again after `attempts` attempts. Nobody waits for
  /// the write: a dispatch lost with the master shows when the worker reconnects.
  virtual void Dispatched(const std::string& id, const std::string& worker_id, uint32_t attempts,
                          absl::Time at) = 0;
  /// It finished: `invocation` (DONE, with its result) is what Get answers,
  /// after a restart too, until it is forgotten. A failure is logged: the
  /// invocation then comes back after a restart and runs again.
  virtual void Finished(v1::Invocation invocation) = 0;
  /// No longer retained (or never queued): forgotten with whatever was recorded.
  virtual void Forgotten(std::vector<std::string> ids) = 0;
};

/// The journal in the master's SQLite state (fsched.db, WAL): a commit is a
/// write to the log, no fsync, so an accepted invocation survives the
/// master's crash, not the machine's (synchronous=NORMAL). One writer thread
/// commits in groups: every invocation accepted while the previous group was
/// being written, and every finished one, go in the next transaction.
class StoreJournal final : public InvocationJournal {
 public:
  explicit StoreJournal(FunctionStore* store);
  /// Close(), if the owner did not.
  ~StoreJournal() override;
  StoreJournal(const StoreJournal&) = delete;
  StoreJournal& operator=(const StoreJournal&) = delete;

  /// Writes what is pending (answering the acceptances waiting for it),
  /// then stops the writer. The owner calls it while what those answers
  /// reach (the controller, the scheduler) still stands.
  void Close() override;

  /// `recorded` runs once the group it joined is committed.
  void Accept(const v1::AcceptedInvocation& invocation,
              std::function<void(absl::Status)> recorded) override;
  /// These go with the next group; nobody waits for them.
  void Dispatched(const std::string& id, const std::string& worker_id, uint32_t attempts,
                  absl::Time at) override;
  void Finished(v1::Invocation invocation) override;
  void Forgotten(std::vector<std::string> ids) override;

 private:
  struct Group {
    FunctionStore::JournalBatch batch;  // its accepted part; the rest is added when written
    std::vector<std::function<void(absl::Status)>> recorded;  // one per accepted
  };
  void Loop();
  // How long dispatches and results wait for an acceptance to share a commit with.
  static constexpr absl::Duration kLinger = absl::Milliseconds(2);

  FunctionStore* const store_;
  absl::Mutex mu_;
  std::shared_ptr<Group> open_ ABSL_GUARDED_BY(mu_);
  // What nobody waits for, serialized on the writer thread.
  std::vector<FunctionStore::JournalBatch::Dispatch> dispatched_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Invocation> finished_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> forgotten_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // the writer is gone: nothing is accepted
  std::thread writer_;
};

}  // namespace fsched::master
