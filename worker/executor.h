// Runs assignments on a fixed pool of slot threads, at most `slots` at once.
// A master never sends more than `slots`, but a worker may serve several
// masters (the master and its zone master) and direct requests (decentralized
// routing), so up to `max_waiting` more wait here, first come first served. An assignment
// that preempts a running invocation freezes it and takes its slot; the frozen
// one resumes when its preemptor ends (so up to 2·slots threads may be busy).
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/result_observer.h"
#include "fsched/v1/link.pb.h"
#include "worker/cpu_slice.h"
#include "worker/resctrl.h"
#include "worker/runtime.h"

namespace fsched::worker {

class Executor {
 public:
  using Done = std::function<void(v1::InvocationResult)>;
  struct Options {
    uint32_t slots = 1;
    uint64_t output_limit_bytes = 1024 * 1024;
    absl::Duration default_timeout = absl::Seconds(60);
    CacheAllocator* cache = nullptr;  // LLC partitions; null where there is no CAT
    uint32_t max_waiting = 0;         // accepted beyond the slots, to wait for one
    CpuSlices* cpu_slices = nullptr;  // ALPS's learned slices; null where the kernel has none
  };

  /// `runtimes` maps each supported kind to its runtime (not owned); the entry
  /// for UNSPECIFIED is the worker's default.
  Executor(Options options, absl::flat_hash_map<v1::RuntimeKind, Runtime*> runtimes);
  /// Cancels what runs and joins the slot threads.
  ~Executor();

  /// Starts an assignment. RESOURCE_EXHAUSTED when every slot is busy and
  /// max_waiting wait already;
  /// ALREADY_EXISTS for an invocation that is already running here. With
  /// `preempts` set, that invocation (if still running, not frozen, and on a
  /// runtime that can freeze) is frozen first and its slot used.
  /// `done` runs on a slot thread with the result.
  absl::Status Submit(v1::Assignment assignment, Done done);
  /// Stops a running invocation (its result says CANCELLED). False if unknown.
  bool Cancel(const std::string& invocation_id);
  std::vector<std::string> Running() const;
  /// Accepted invocations waiting for a slot.
  size_t Waiting() const;
  uint32_t slots() const { return options_.slots; }
  /// Sees every result from now on, before its `done`, on the slot thread
  /// (null = none); outlives the executor.
  void set_observer(ResultObserver* observer) { observer_.store(observer); }
  /// Running and waiting invocations (frozen ones excluded) over the slots.
  double Busy() const;
  std::vector<v1::RuntimeKind> Kinds() const;

 private:
  struct Job {
    v1::Assignment assignment;
    Done done;
    std::shared_ptr<RunControl> control;
  };
  bool CanFreeze(const v1::Assignment& assignment) const;
  void SlotLoop();
  /// Takes the assignment's payload and spec.
  v1::InvocationResult Execute(Job& job);

  const Options options_;
  std::atomic<ResultObserver*> observer_{nullptr};
  const absl::flat_hash_map<v1::RuntimeKind, Runtime*> runtimes_;
  mutable absl::Mutex mu_;
  std::deque<Job> pending_ ABSL_GUARDED_BY(mu_);
  struct Active {
    std::shared_ptr<RunControl> control;
    bool can_freeze = false;
    bool started = false;  // taken by a slot thread (else waiting)
  };
  bool CanStartNext() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::flat_hash_map<std::string, Active> active_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> resumes_
      ABSL_GUARDED_BY(mu_);  // preemptor -> frozen
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace fsched::worker
