// The idle instances a worker keeps for reuse: warm (started) and pre-warmed
// (created, not started), per function version. It decides what to keep and
// what to evict (keep-alive, per-function cap, a memory budget in LRU order);
// the caller destroys what it hands back, outside any lock. Time is passed in
// so tests drive it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"

namespace fsched::worker {

/// The key that makes instances interchangeable: name and a hash of the spec.
std::string InstanceKey(const v1::FunctionSpec& function);

class PooledInstance {
 public:
  virtual ~PooledInstance() = default;
  /// True once it has served a call (warm); false while pre-warmed.
  virtual bool served() const = 0;
  /// The key (InstanceKey) of the function version it runs, remembered when
  /// it leaves the pool: keeping it again after a call needs no new key (a
  /// key serialises the whole spec).
  const std::string& pool_key() const { return pool_key_; }
  void set_pool_key(std::string key) { pool_key_ = std::move(key); }

 private:
  std::string pool_key_;
};

class WarmPool {
 public:
  using Evicted = std::vector<std::unique_ptr<PooledInstance>>;
  struct Entry {
    std::string key;  // function name and spec version: instances of one key are interchangeable
    std::string function;       // the function name (for reports and Evict)
    uint64_t memory_bytes = 0;  // charged against the budget
    absl::Duration keep_alive;
    uint32_t max_instances = 0;  // idle instances of this key; 0 = no cap
    std::unique_ptr<PooledInstance> instance;
  };

  explicit WarmPool(uint64_t memory_budget_bytes) : budget_(memory_budget_bytes) {}
  /// Applies from the next Put.
  void set_budget(uint64_t memory_budget_bytes) { budget_ = memory_budget_bytes; }

  /// An idle instance of `key`: warm ones first (most recently used), then
  /// pre-warmed. Null when there is none.
  std::unique_ptr<PooledInstance> Take(const std::string& key);
  /// Keeps `entry` idle from `now`. Returns what no longer fits: instances of
  /// the key beyond its cap (oldest first), then least recently used ones
  /// anywhere until the budget holds, which may be `entry` itself.
  Evicted Put(Entry entry, absl::Time now);
  /// Idle instances whose keep-alive ran out by `now`.
  Evicted Expire(absl::Time now);
  /// Every idle instance of `function` (any version), or only versions other than `keep_key`.
  Evicted EvictFunction(const std::string& function, const std::string& keep_key = "");
  Evicted Clear();

  /// Idle instances per function and mode, for the master's warm-first policy.
  std::vector<v1::WarmInstance> Snapshot() const;
  size_t size() const { return idle_.size(); }
  /// Idle instances of `key`.
  size_t Count(const std::string& key) const;
  uint64_t memory_bytes() const { return used_; }
  /// The earliest time an idle instance expires (InfiniteFuture when none).
  absl::Time NextExpiry() const;

 private:
  struct Idle {
    Entry entry;
    absl::Time since;
  };
  // Front = least recently used.
  std::list<Idle> idle_;
  uint64_t budget_;
  uint64_t used_ = 0;
  std::unique_ptr<PooledInstance> Remove(std::list<Idle>::iterator it);
};

}  // namespace fsched::worker
