// The worker's connection to its master: dials, registers with the join token,
// sends heartbeats with load and every result, runs the assignments it receives,
// and reconnects with jittered exponential backoff when the master goes away.
// Results finished while disconnected are kept and sent after reconnecting;
// results sent shortly before a link broke are kept a while too, and sent
// again if the master (restarted) still waits for them.
// The stream uses gRPC's synchronous API on purpose: a callback-API version
// cost the worker 10-17 % more CPU per call (docs/performance.md).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/link.grpc.pb.h"
#include "worker/executor.h"

namespace fsched::worker {

/// What the worker a MasterLink belongs to gives it and hears from it. Called
/// on the link's own threads; must not block for long.
class MasterLinkCallbacks {
 public:
  virtual ~MasterLinkCallbacks() = default;
  /// Sent when joining.
  virtual v1::WorkerCapacity Capacity() = 0;
  /// Sent with every heartbeat.
  virtual v1::WorkerLoad Load() = 0;
  /// The master's pre-warm and evict commands.
  virtual void OnPrewarm(const v1::Prewarm& prewarm) = 0;
  virtual void OnEvict(const v1::Evict& evict) = 0;
  /// The master's membership pushes: peers and the federation's masters.
  virtual void OnMembership(const v1::Membership& membership) = 0;
  /// The master's live tokens (hashes), for checking this worker's own callers.
  virtual void OnTokens(const v1::TokenDirectory& tokens) = 0;
  /// The master refused this worker for good (a wrong join token); called
  /// once, after which the link stops.
  virtual void OnRefused(const absl::Status& status) = 0;
};

/// Cuts a result's stdout and stderr (the longer first, each flagged as
/// truncated) until it fits a message of `max_message_bytes` (0 = no limit).
void FitResult(uint64_t max_message_bytes, v1::InvocationResult* result);

class MasterLink {
 public:
  struct Options {
    std::string zone;
    std::map<std::string, std::string> labels;
    absl::Duration reconnect_min = absl::Milliseconds(200);
    absl::Duration reconnect_max = absl::Seconds(10);
    absl::Duration welcome_timeout = absl::Seconds(10);
    size_t max_buffered_results = 10000;
    // And their bytes: past either, a result is dropped (the master, told by
    // Register.held, queues its invocation again).
    uint64_t max_buffered_bytes = uint64_t{64} << 20;
    // How long, and within how many bytes, results already written are kept
    // for a master that restarted before it read or recorded them.
    absl::Duration resend_window = absl::Seconds(10);
    uint64_t resend_bytes = uint64_t{16} << 20;
  };

  /// Constructed idle: SetMaster may be called before Start (it is remembered).
  /// `executor` runs the assignments; both outlive the link.
  MasterLink(Options options, Executor* executor, MasterLinkCallbacks* worker);
  ~MasterLink();

  /// Sets this worker's identity (known once its own service is bound) and
  /// starts connecting to the master, if one is set.
  void Start(const std::string& worker_id, const std::string& own_address);

  /// Points the link at a master (empty = none) and (re)connects. FAILED_PRECONDITION
  /// when already attached to a different master, unless `move` (a zone link
  /// following its zone master to a new address).
  absl::Status SetMaster(const std::string& address, const std::string& join_token,
                         bool move = false);
  void Stop();
  /// Stops and waits for the link's threads: no assignment arrives after it.
  /// Results may still be handed in (they wait in the backlog).
  void Join();

  /// Streams the root filesystem archive `digest` from the master into `path`.
  absl::Status FetchRootfs(const std::string& digest, const std::string& path);

  bool connected() const;
  std::string master_address() const;
  /// Empty until Start.
  std::string worker_id() const;

 private:
  void Run();
  /// One connection, from dial to the end of the stream. \return its final status.
  grpc::Status Session(const std::string& address, const std::string& token);
  void HeartbeatLoop();
  void SendResult(v1::InvocationResult result);
  /// Writes under write_mu_; false when there is no live stream.
  bool Write(const v1::WorkerMessage& message) ABSL_LOCKS_EXCLUDED(write_mu_);
  void OnMasterMessage(v1::MasterMessage& message);
  /// Fills registration.held: every assignment whose result the master may lack.
  void ListHeld(v1::Register* registration) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  /// The welcome's awaited ids that were sent already, to send again.
  std::vector<v1::InvocationResult> TakeResends(const v1::Welcome& welcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void ForgetOldSentLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const Options options_;
  Executor* const executor_;
  MasterLinkCallbacks* const worker_;

  mutable absl::Mutex mu_;
  std::string worker_id_ ABSL_GUARDED_BY(mu_);
  std::string own_address_ ABSL_GUARDED_BY(mu_);
  std::string master_address_ ABSL_GUARDED_BY(mu_);
  std::string join_token_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  bool retarget_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumps on each welcome
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;

  // Serialises writes on the stream; guards the stream pointer and the backlog.
  absl::Mutex write_mu_ ABSL_ACQUIRED_AFTER(mu_);
  grpc::ClientReaderWriter<v1::WorkerMessage, v1::MasterMessage>* stream_
      ABSL_GUARDED_BY(write_mu_) = nullptr;
  bool welcomed_ ABSL_GUARDED_BY(write_mu_) = false;
  uint64_t max_message_bytes_ ABSL_GUARDED_BY(write_mu_) = 0;  // the master's, from its welcome
  std::deque<v1::InvocationResult> backlog_ ABSL_GUARDED_BY(write_mu_);
  uint64_t backlog_bytes_ ABSL_GUARDED_BY(write_mu_) = 0;
  // Assignments from the master whose result is not written yet, by id: attempt.
  absl::flat_hash_map<std::string, uint32_t> held_ ABSL_GUARDED_BY(write_mu_);
  // Results written, newest last, within resend_window and resend_bytes.
  struct Sent {
    absl::Time at;
    v1::InvocationResult result;
    uint64_t bytes = 0;
  };
  std::deque<Sent> sent_ ABSL_GUARDED_BY(write_mu_);
  uint64_t sent_bytes_ ABSL_GUARDED_BY(write_mu_) = 0;

  std::thread run_thread_;
  std::thread heartbeat_thread_;
};

}  // namespace fsched::worker
