// The idle instances of one runtime and the thread that looks after them:
// a WarmPool (keep-alive, per-function cap, memory budget) plus one
// background thread that pre-warms, expires and destroys instances, so no
// call waits for an instance's removal. Runtimes (process, runc, containerd)
// say how an instance is made and destroyed; the pool decides when.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"
#include "worker/warm_pool.h"

namespace fsched::worker {

class InstancePool {
 public:
  /// `destroy` ends one instance; it runs on the pool's thread.
  using DestroyFn = std::function<void(std::unique_ptr<PooledInstance>)>;
  InstancePool(uint64_t memory_budget_bytes, absl::Duration default_keep_alive, DestroyFn destroy);
  /// Shutdown() if the owner did not.
  ~InstancePool();
  /// Destroys every idle instance, runs what is queued, stops the thread.
  /// The owner calls it first in its destructor: queued tasks use the owner.
  void Shutdown();

  void set_budget(uint64_t memory_budget_bytes);
  /// How long a used instance idles when its function sets no keep-alive.
  void set_default_keep_alive(absl::Duration keep_alive);
  absl::Duration default_keep_alive() const;

  /// An idle instance of this version of `function` (warm first, then
  /// pre-warmed), or null; idle instances of its older versions go.
  std::unique_ptr<PooledInstance> Take(const v1::FunctionSpec& function);
  /// The mode a call served by `taken` (what Take returned) runs in: cold
  /// without one, warm if it served before, else pre-warmed.
  static v1::ExecutionMode ModeOf(const PooledInstance* taken);
  /// Keeps `instance` idle, charged `memory_bytes` against the budget;
  /// destroys whatever no longer fits (it may be `instance` itself).
  void Keep(const v1::FunctionSpec& function, std::unique_ptr<PooledInstance> instance,
            uint64_t memory_bytes);
  /// Destroys on the pool's thread.
  void Destroy(std::unique_ptr<PooledInstance> instance);
  void Destroy(WarmPool::Evicted instances);
  /// On the pool's thread: calls `make_one` (which makes an instance and
  /// Keeps it, false when it cannot) until `count` idle instances of this
  /// version of `function` exist.
  void Prewarm(const v1::FunctionSpec& function, uint32_t count, std::function<bool()> make_one);
  /// Destroys the idle instances of `function`.
  void Evict(const std::string& function);

  /// Instances that serve several calls at once (warm.concurrency > 1) are
  /// shared while they serve: Join gives one of this version serving fewer
  /// calls than that (counted as one more; `mode` warm), else an idle one,
  /// shared from now (`mode` as ModeOf), else null: the caller makes one and
  /// Shares it. Each call Leaves once; `reusable` false
  /// lets no further call join. The last call to leave gets the instance
  /// back to Keep when no call found it unusable (else it is destroyed);
  /// the others get null.
  PooledInstance* Join(const v1::FunctionSpec& function, v1::ExecutionMode* mode);
  PooledInstance* Share(const v1::FunctionSpec& function, std::unique_ptr<PooledInstance> instance);
  std::unique_ptr<PooledInstance> Leave(PooledInstance* instance, bool reusable);

  /// One call's hold on an instance, whichever way it serves: taken idle
  /// (warm.concurrency 1) or joined (more). `instance` null after Acquire:
  /// none was there, the runtime makes one and Adopts it.
  struct Held {
    PooledInstance* instance = nullptr;
    v1::ExecutionMode mode = v1::EXECUTION_MODE_COLD;
    bool shared = false;
    std::unique_ptr<PooledInstance> owned;  // not shared: the call has it alone
  };
  Held Acquire(const v1::FunctionSpec& function);
  void Adopt(const v1::FunctionSpec& function, Held* held,
             std::unique_ptr<PooledInstance> instance);
  /// The call is over: the instance to Keep (the runtime charges its
  /// memory), or null (destroyed, as it is not `reusable`, or still serving
  /// other calls).
  std::unique_ptr<PooledInstance> Release(Held* held, bool reusable);

  /// An instance of `function` serves a call from now until CallEnded: it
  /// counts as warm in WarmSet, being idle again when the call ends.
  void CallStarted(const std::string& function);
  void CallEnded(const std::string& function);
  /// Instances per function and mode: idle ones and those serving a call
  /// (as warm), so warm-first placement does not take a worker whose only
  /// instance happens to be busy for one without any.
  std::vector<v1::WarmInstance> WarmSet() const;

  /// Runs `task` on the pool's thread.
  void Post(std::function<void()> task);
  /// Blocks until the thread has nothing queued (tests, shutdown).
  void WaitIdle();

 private:
  void Loop();

  const DestroyFn destroy_;
  mutable absl::Mutex mu_;
  WarmPool pool_ ABSL_GUARDED_BY(mu_);
  absl::Duration default_keep_alive_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> serving_ ABSL_GUARDED_BY(mu_);  // calls by function
  struct Shared {
    std::string key;
    std::unique_ptr<PooledInstance> owner;
    uint32_t calls = 0;
    uint32_t limit = 1;
    bool open = true;
  };
  absl::flat_hash_map<PooledInstance*, Shared> shared_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fsched::worker
