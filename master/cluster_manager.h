// The master's view of its workers: who joined (with the cluster's join token),
// who is alive (heartbeats), how many slots each has free, and which invocations
// each is running. It never calls back into the scheduler; callers act on what
// its methods return, so no lock is held across components.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "fsched/v1/link.pb.h"
#include "fsched/v1/types.pb.h"
#include "scheduling/placement_policy.h"

namespace fsched::master {

/// The master's end of one worker's stream. Send never blocks.
class WorkerStream {
 public:
  virtual ~WorkerStream() = default;
  virtual void Send(const v1::MasterMessage& message) = 0;
  /// Ends the stream with `status` (queued messages are still flushed first).
  virtual void Close(const absl::Status& status) = 0;
};

/// An invocation a worker was running.
struct InFlight {
  std::string invocation_id;
  uint32_t attempt = 0;
};

/// A running invocation that may be frozen so a shorter one can take its slot.
struct PreemptionCandidate {
  scheduling::WorkerView worker;
  std::string invocation_id;
  absl::Duration remaining;  // predicted
};

class ClusterManager {
 public:
  struct Options {
    std::string join_token;  // empty = any worker may join
    absl::Duration heartbeat_interval = absl::Seconds(1);
    absl::Duration heartbeat_timeout = absl::Seconds(5);
    absl::Duration reconnect_grace = absl::Seconds(15);  // for Recovered workers
    absl::Duration response_window = absl::Seconds(60);  // for response-time placement
  };

  /// Identifies one connection of one worker; a reconnect gets a new session.
  struct Session {
    std::string worker_id;
    uint64_t id = 0;
  };

  using AwaitCallback = std::function<void(absl::StatusOr<v1::WorkerInfo>)>;

  ClusterManager(Options options, Clock* clock);

  /// Admits a worker. UNAUTHENTICATED for a wrong join token, INVALID_ARGUMENT
  /// for a registration without id or slots. A worker that reconnects keeps the
  /// invocations it holds (registration.held) and the welcome lists them as
  /// awaited; what the master thought it ran and it does not hold is dropped
  /// and appended to `lost` (may be null) for re-queueing; what it holds that
  /// the master did not think it ran is appended to `unclaimed` (may be
  /// null), for the scheduler to Adopt. Its previous stream is closed.
  absl::StatusOr<Session> Register(const v1::Register& registration,
                                   std::shared_ptr<WorkerStream> stream, v1::Welcome* welcome,
                                   std::vector<InFlight>* lost = nullptr,
                                   std::vector<InFlight>* unclaimed = nullptr);
  /// After a master restart: the journal says `worker_id` ran this attempt.
  /// The worker is known as DISCONNECTED until it registers (and confirms
  /// it, or not), or Tick declares it dead once Options::reconnect_grace passed.
  void Recovered(const std::string& worker_id, const InFlight& flight, absl::Time dispatched);
  /// Workers that Recovered made known and that have neither registered
  /// since nor been declared dead.
  size_t returning_workers() const;
  /// The worker runs `flight` already (an unclaimed one the scheduler took
  /// off its queue): it holds a slot there from now on, as if assigned.
  void Adopt(const std::string& worker_id, const InFlight& flight);
  /// NOT_FOUND when the session is no longer current.
  absl::Status Heartbeat(const Session& session, const v1::Heartbeat& heartbeat);
  /// The stream ended; the worker keeps its in-flight work until the heartbeat timeout.
  void Disconnected(const Session& session);

  /// Ready (not draining, connected) workers.
  std::vector<scheduling::WorkerView> ReadyWorkers() const;
  /// Ready workers with at least one free slot: what placement chooses among.
  /// Kept as an index, so a saturated cluster costs O(free workers), not O(workers).
  std::vector<scheduling::WorkerView> WorkersWithRoom() const;
  /// True if some ready worker (full or not) offers `runtime`.
  bool AnyReadySupports(v1::RuntimeKind runtime) const;
  /// Reserves a slot on the worker and sends the assignment.
  /// FAILED_PRECONDITION if the worker is not ready or has no free slot. With
  /// `assignment.preempts` set, that invocation is marked frozen and its slot is
  /// used (FAILED_PRECONDITION if it is not running there or was frozen before);
  /// it counts again once the preemptor's result is released.
  absl::Status Assign(const std::string& worker_id, v1::Assignment assignment);
  /// The invocation with the most predicted time left among those that may be
  /// frozen: on a ready worker that supports freezing, never frozen before, not
  /// itself a preemptor. nullopt if there is none.
  std::optional<PreemptionCandidate> LongestPreemptible(absl::Time now);
  /// Frees the slot of a finished invocation. False if that worker was not
  /// running that attempt (a late or duplicate result; an orphan's slot is
  /// still freed).
  bool Release(const std::string& worker_id, const std::string& invocation_id, uint32_t attempt);
  /// Asks the worker to stop an invocation (best effort).
  void SendCancel(const std::string& worker_id, const std::string& invocation_id);
  /// Sends `message` to the worker if it is connected (best effort).
  void SendTo(const std::string& worker_id, const v1::MasterMessage& message);
  /// Sends `message` to every ready worker that offers `runtime` (best effort).
  void Broadcast(const v1::MasterMessage& message, v1::RuntimeKind runtime);

  /// Ready workers as routing peers (id, address, zone).
  std::vector<v1::Peer> ReadyPeers() const;
  /// Sends every ready worker its membership (same-zone peers, at most 64,
  /// and `masters`) when the ready set or `masters` changed since the last
  /// push, or when `force`. \return whether it sent.
  bool PushMembership(const std::vector<v1::Peer>& masters, bool force = false);
  /// The same, to one worker now (it just joined: a restarted worker knows nothing).
  void SendMembership(const std::string& worker_id, const std::vector<v1::Peer>& masters);

  /// Marks workers silent for longer than the heartbeat timeout dead and
  /// returns what they were running; also fails expired AwaitWorker calls.
  std::vector<InFlight> Tick();

  absl::StatusOr<v1::WorkerInfo> Drain(const std::string& worker_id);
  /// FAILED_PRECONDITION while the worker runs invocations, unless `force`;
  /// then its in-flight invocations are returned for re-queueing.
  absl::StatusOr<std::vector<InFlight>> Remove(const std::string& worker_id, bool force);
  std::vector<v1::WorkerInfo> List() const;
  absl::StatusOr<v1::WorkerInfo> Get(const std::string& worker_id) const;
  /// Calls `done` once the worker is ready (at once if it already is), or with
  /// DEADLINE_EXCEEDED at `deadline`.
  void AwaitWorker(const std::string& worker_id, absl::Time deadline, AwaitCallback done);

  struct Totals {
    uint32_t ready = 0;
    uint32_t slots = 0;
    uint32_t slots_used = 0;
    // Calls the workers run or hold, as they last reported, where that is more
    // than this master assigned (other masters and direct calls share them).
    uint32_t busy = 0;
  };
  Totals GetTotals() const;
  /// How the invocations handed to Recovered fared so far.
  struct RecoveredFlights {
    uint64_t confirmed = 0;    // their worker held them when it registered
    uint64_t not_held = 0;     // their worker registered without them
    uint64_t worker_gone = 0;  // their worker was declared dead or removed
    uint64_t adopted = 0;      // queued, but a registering worker already ran them
  };
  RecoveredFlights recovered_flights() const;
  struct CacheTotals {
    uint32_t free_ways = 0;  // over ready workers with cache partitions
    uint32_t max_ways = 0;   // the most ways one of them has
  };
  CacheTotals GetCacheTotals() const;

 private:
  struct Record {
    v1::WorkerInfo info;
    std::shared_ptr<WorkerStream> stream;  // null when disconnected or dead
    uint64_t session = 0;
    absl::Time last_heartbeat;
    absl::Time grace_until;  // not declared dead before (Recovered)
    bool returning = false;  // made known by Recovered, not registered or dead since
    struct Flight {
      uint32_t attempt = 0;
      absl::Time dispatched;
      absl::Time predicted_end;  // dispatched + predicted run time
      std::string preempts;      // the invocation this one froze, if any
      bool paused = false;       // frozen by a preemptor: holds no slot
      uint32_t cache_ways = 0;   // reserved on the worker until the result
      bool recovered = false;    // from Recovered, not yet confirmed by its worker
    };
    absl::flat_hash_map<std::string, Flight> in_flight;  // by invocation id
    // Dispatch-to-result times over the response window, with a running sum so
    // a placement view reads the mean in O(1).
    std::deque<std::pair<absl::Time, double>> responses;
    double response_sum = 0;
    void ExpireResponses(absl::Time now, absl::Duration window);
    // Invocations the worker still runs that the master already re-queued (it
    // was declared dead, then came back): they hold slots until they report.
    absl::flat_hash_set<std::string> orphans;
    uint32_t paused = 0;  // in-flight invocations that are frozen
    uint32_t used() const {
      return static_cast<uint32_t>(in_flight.size() + orphans.size()) - paused;
    }
  };
  struct Awaiter {
    std::string worker_id;
    absl::Time deadline;
    AwaitCallback done;
  };

  v1::WorkerInfo Snapshot(const Record& record) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /// Undoes what a flight holds (its frozen victim, cache ways, preemption
  /// index) before it is erased without a result.
  void DropFlightLocked(const std::string& worker_id, Record& record, const std::string& id,
                        const Record::Flight& flight) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /// Puts the worker in or out of with_room_ after any change to it.
  void Reindex(const std::string& id, const Record& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static bool Ready(const Record& record);
  static scheduling::WorkerView View(const Record& record);

  const Options options_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Record> workers_ ABSL_GUARDED_BY(mu_);
  RecoveredFlights recovered_flights_ ABSL_GUARDED_BY(mu_);
  // Ordered: a hash set iterates in O(capacity), which stays at the peak worker count.
  absl::btree_set<std::string> with_room_ ABSL_GUARDED_BY(mu_);
  // Running invocations that could be frozen, by predicted end (latest last).
  // Entries are removed when their result is released; others (the worker died
  // or was removed) are dropped lazily by LongestPreemptible.
  struct PreemptKey {
    absl::Time predicted_end;
    std::string worker_id;
    std::string invocation_id;
    bool operator<(const PreemptKey& o) const {
      return std::tie(predicted_end, worker_id, invocation_id) <
             std::tie(o.predicted_end, o.worker_id, o.invocation_id);
    }
  };
  absl::btree_set<PreemptKey> preemptible_ ABSL_GUARDED_BY(mu_);
  std::vector<Awaiter> awaiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_session_ ABSL_GUARDED_BY(mu_) = 1;
  std::string pushed_membership_ ABSL_GUARDED_BY(mu_);  // what the last push described
};

}  // namespace fsched::master
