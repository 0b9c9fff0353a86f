// Every invocation the master accepted, from submission to result: ids,
// attempts, the worker that runs it, and who waits for it. Finished records are
// kept so clients can fetch results after the fact, within a count, a byte
// budget and an age (Retention), oldest forgotten first.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/result_observer.h"
#include "fsched/v1/link.pb.h"
#include "fsched/v1/types.pb.h"
#include "master/invocation_journal.h"
#include "scheduling/placement_policy.h"

namespace fsched::master {

using InvocationCallback = std::function<void(const v1::Invocation&)>;

/// How many finished records are kept, at most: whichever bound is reached first.
struct Retention {
  size_t results = 100000;
  // A record counts its serialized size (result, spec, request without its
  // payload) plus kRecordOverheadBytes.
  uint64_t bytes = uint64_t{256} << 20;
  absl::Duration age = absl::Hours(1);  // since it finished
};

class InvocationTable {
 public:
  /// What a finished record costs beyond its serialized size (the map entry,
  /// the record's own fields), so many tiny results are bounded too.
  static constexpr uint64_t kRecordOverheadBytes = 512;

  explicit InvocationTable(Retention retention) : retention_(retention) {}
  /// Told every result Complete records from now on (null = none); outlives the table.
  void set_observer(ResultObserver* observer) { observer_.store(observer); }
  /// Told when an invocation is dispatched, finishes and is forgotten (null =
  /// none); set before the first Create, outlives the table.
  void set_journal(InvocationJournal* journal) { journal_ = journal; }

  /// Records a new invocation in state QUEUED. `on_done` (may be empty) runs
  /// once with the finished invocation (or as it stands, see Close). \return
  /// its id; UNAVAILABLE once the table is closed; RESOURCE_EXHAUSTED when
  /// the function's max_concurrency invocations are already in flight.
  absl::StatusOr<std::string> Create(const v1::FunctionSpec& spec, const v1::InvokeRequest& request,
                                     absl::Duration timeout, absl::Time now,
                                     InvocationCallback on_done);
  /// An invocation accepted before a restart, under its id, arrival time and
  /// attempts so far (nobody waits for it yet): RUNNING on its worker when the
  /// journal says it went to one (the worker confirms it when it reconnects,
  /// or it is lost like any other), QUEUED otherwise. ALREADY_EXISTS for an id held.
  absl::Status Restore(const v1::AcceptedInvocation& accepted);
  /// One that finished before a restart, retained again: call these first,
  /// oldest first, before anything finishes here.
  void RestoreFinished(v1::Invocation invocation);
  /// Forgets an invocation that was never queued (admission failed after Create).
  void Discard(const std::string& id);

  /// Moves a QUEUED invocation to RUNNING on `worker` and builds its assignment.
  /// nullopt if it is no longer queued (cancelled, finished).
  std::optional<v1::Assignment> StartAttempt(const std::string& id,
                                             const scheduling::WorkerView& worker,
                                             const std::string& queue_order,
                                             const std::string& placement, double predicted_seconds,
                                             absl::Time now);
  /// A QUEUED invocation that `worker` turns out to run already, as `attempt`
  /// (the current attempt, or the next one: a dispatch that never reached
  /// the journal before a restart): RUNNING there under that attempt. False
  /// when it is not queued or the attempt is another one.
  bool Adopt(const std::string& id, const std::string& worker, uint32_t attempt, absl::Time now);
  /// Puts a RUNNING invocation back to QUEUED (the assignment could not be sent).
  void Unstart(const std::string& id);

  enum class LossAction { kRequeue, kGaveUp, kStale };
  /// A worker running `attempt` of `id` was lost. kRequeue: it is QUEUED again;
  /// kGaveUp: it ran out of attempts and is now DONE (REJECTED); kStale: nothing to do.
  LossAction OnWorkerLost(const std::string& id, uint32_t attempt, uint32_t max_attempts,
                          absl::Time now);

  /// Records the result of `attempt`. False if the invocation is done already or
  /// that attempt is not the current one.
  bool Complete(const std::string& id, uint32_t attempt, v1::InvocationResult result,
                absl::Time now);
  /// Finishes an invocation that never ran (queue timeout, cancel while queued).
  bool Reject(const std::string& id, v1::Outcome outcome, const std::string& message,
              absl::Time now);

  absl::StatusOr<v1::Invocation> Get(const std::string& id) const;

  /// Forgets finished records older than the retention age (the count and
  /// byte bounds hold as records finish). \return how many were forgotten.
  size_t ExpireResults(absl::Time now);
  /// Finished records kept, and what they count against Retention::bytes.
  struct Retained {
    size_t results = 0;
    uint64_t bytes = 0;
  };
  Retained retained() const;
  /// The function spec and input size the invocation was accepted with.
  struct Admission {
    v1::FunctionSpec spec;
    double input_size = 0;
    std::string worker_id;    // pinned to this worker; empty = any
    uint32_t cache_ways = 0;  // asked for this call; 0 = the function's or predicted
    absl::Time arrived;       // when it was submitted: its place in the queue's order
  };
  absl::StatusOr<Admission> AdmissionOf(const std::string& id) const;
  /// Calls `done` when the invocation finishes (at once if it has, or if the
  /// table is closed). NOT_FOUND for unknown ids.
  absl::Status AddWaiter(const std::string& id, InvocationCallback done);

  /// The master is stopping: every waiter is called now with its invocation
  /// as it stands (not DONE), and no invocation is accepted from here on. A
  /// server cannot finish shutting down while a call still waits.
  void Close();
  /// \return the worker running `id`, or empty when it is not running.
  std::string RunningOn(const std::string& id) const;

  size_t running() const;
  /// Invocations of `function` accepted and not finished (queued or running).
  uint32_t InFlight(const std::string& function) const;

 private:
  struct Record {
    v1::FunctionSpec spec;
    v1::InvokeRequest request;
    absl::Duration timeout;
    absl::Time submitted;
    absl::Time dispatched;
    v1::InvocationState state = v1::INVOCATION_STATE_QUEUED;
    uint32_t attempt = 0;
    std::string worker_id;
    v1::InvocationResult result;
    std::vector<InvocationCallback> waiters;
  };
  static v1::Invocation ToProto(const std::string& id, const Record& record);
  void LeaveFlightLocked(const std::string& function) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /// Marks DONE, fills `finished`, trims retention (which may forget `record`
  /// itself), and returns the waiters to call after unlocking.
  std::vector<InvocationCallback> FinishLocked(const std::string& id, Record& record,
                                               absl::Time now, v1::Invocation* finished)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /// Forgets the oldest finished records while a bound is exceeded.
  size_t TrimLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the journal an invocation finished (outside mu_: it may be large),
  // then that it was forgotten, if retention dropped it in between.
  void JournalFinished(v1::Invocation finished) ABSL_LOCKS_EXCLUDED(mu_);
  /// Counts a DONE record against the retention bounds, finished at `at`.
  void RetainLocked(const std::string& id, const Record& record, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Finished {
    std::string id;
    uint64_t bytes = 0;
    absl::Time at;
  };
  const Retention retention_;
  std::atomic<ResultObserver*> observer_{nullptr};
  InvocationJournal* journal_ = nullptr;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Record> records_ ABSL_GUARDED_BY(mu_);
  std::deque<Finished> finished_order_ ABSL_GUARDED_BY(mu_);  // oldest first
  // Finished, and not yet told to the journal; of those, the ones retention
  // forgot meanwhile (the journal hears it after their Finished, not before).
  absl::flat_hash_set<std::string> unjournaled_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> forget_when_journaled_ ABSL_GUARDED_BY(mu_);
  uint64_t finished_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  // Accepted and not finished, by function (only functions with some in flight).
  absl::flat_hash_map<std::string, uint32_t> in_flight_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched::master
