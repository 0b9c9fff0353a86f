#include "worker/instance_pool.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "common/thread_name.h"

namespace fsched::worker {

InstancePool::InstancePool(uint64_t memory_budget_bytes, absl::Duration default_keep_alive,
                           DestroyFn destroy)
    : destroy_(std::move(destroy)),
      pool_(memory_budget_bytes),
      default_keep_alive_(default_keep_alive) {
  thread_ = std::thread([this] { Loop(); });
}

InstancePool::~InstancePool() { Shutdown(); }

void InstancePool::Shutdown() {
  if (!thread_.joinable()) return;
  WarmPool::Evicted idle;
  {
    absl::MutexLock lock(&mu_);
    idle = pool_.Clear();
  }
  Destroy(std::move(idle));
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();  // runs every queued task first
}

void InstancePool::set_default_keep_alive(absl::Duration keep_alive) {
  absl::MutexLock lock(&mu_);
  default_keep_alive_ = keep_alive;
}

absl::Duration InstancePool::default_keep_alive() const {
  absl::MutexLock lock(&mu_);
  return default_keep_alive_;
}

void InstancePool::set_budget(uint64_t memory_budget_bytes) {
  absl::MutexLock lock(&mu_);
  pool_.set_budget(memory_budget_bytes);
}

std::unique_ptr<PooledInstance> InstancePool::Take(const v1::FunctionSpec& function) {
  std::string key = InstanceKey(function);
  WarmPool::Evicted stale;
  std::unique_ptr<PooledInstance> instance;
  {
    absl::MutexLock lock(&mu_);
    stale = pool_.EvictFunction(function.name(), key);
    instance = pool_.Take(key);
  }
  Destroy(std::move(stale));
  if (instance != nullptr) instance->set_pool_key(std::move(key));
  return instance;
}

v1::ExecutionMode InstancePool::ModeOf(const PooledInstance* taken) {
  return taken == nullptr  ? v1::EXECUTION_MODE_COLD
         : taken->served() ? v1::EXECUTION_MODE_WARM
                           : v1::EXECUTION_MODE_PREWARMED;
}

void InstancePool::Keep(const v1::FunctionSpec& function, std::unique_ptr<PooledInstance> instance,
                        uint64_t memory_bytes) {
  // keep_alive is how long a used instance idles; a pre-created one waits
  // for its first call however long that takes (evict and the budget still apply).
  const absl::Duration keep_alive = !instance->served() ? absl::InfiniteDuration()
                                    : function.warm().has_keep_alive()
                                        ? FromProto(function.warm().keep_alive())
                                        : default_keep_alive();
  if (keep_alive <= absl::ZeroDuration()) {
    Destroy(std::move(instance));
    return;
  }
  WarmPool::Entry entry;
  entry.key = instance->pool_key().empty() ? InstanceKey(function) : instance->pool_key();
  entry.function = function.name();
  entry.memory_bytes = std::max<uint64_t>(memory_bytes, 1);
  entry.keep_alive = keep_alive;
  entry.max_instances = function.warm().max_instances();
  entry.instance = std::move(instance);
  WarmPool::Evicted evicted;
  {
    absl::MutexLock lock(&mu_);
    evicted = pool_.Put(std::move(entry), absl::Now());
  }
  Destroy(std::move(evicted));
}

void InstancePool::Destroy(std::unique_ptr<PooledInstance> instance) {
  if (instance == nullptr) return;
  // A std::function must be copyable: the holder carries the one owner.
  auto holder = std::make_shared<std::unique_ptr<PooledInstance>>(std::move(instance));
  Post([this, holder] { destroy_(std::move(*holder)); });
}

void InstancePool::Destroy(WarmPool::Evicted instances) {
  for (auto& instance : instances) Destroy(std::move(instance));
}

void InstancePool::Prewarm(const v1::FunctionSpec& function, uint32_t count,
                           std::function<bool()> make_one) {
  Post([this, function, count, make_one = std::move(make_one)] {
    const std::string key = InstanceKey(function);
    size_t have;
    WarmPool::Evicted stale;
    {
      absl::MutexLock lock(&mu_);
      stale = pool_.EvictFunction(function.name(), key);  // a new version replaces the old
      have = pool_.Count(key);
    }
    Destroy(std::move(stale));
    for (size_t i = have; i < count; ++i) {
      if (!make_one()) return;
    }
  });
}

void InstancePool::Evict(const std::string& function) {
  WarmPool::Evicted evicted;
  {
    absl::MutexLock lock(&mu_);
    evicted = pool_.EvictFunction(function);
  }
  Destroy(std::move(evicted));
}

PooledInstance* InstancePool::Join(const v1::FunctionSpec& function, v1::ExecutionMode* mode) {
  const std::string key = InstanceKey(function);
  WarmPool::Evicted stale;
  PooledInstance* joined = nullptr;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [instance, shared] : shared_) {
      if (shared.open && shared.key == key && shared.calls < shared.limit) {
        ++shared.calls;
        *mode = v1::EXECUTION_MODE_WARM;
        return instance;
      }
    }
    // Taken and shared under one lock: calls arriving together meet in it.
    stale = pool_.EvictFunction(function.name(), key);
    if (std::unique_ptr<PooledInstance> idle = pool_.Take(key)) {
      idle->set_pool_key(key);
      *mode = ModeOf(idle.get());
      joined = idle.get();
      Shared& shared = shared_[joined];
      shared.key = key;
      shared.owner = std::move(idle);
      shared.calls = 1;
      shared.limit = std::max<uint32_t>(1, function.warm().concurrency());
    }
  }
  Destroy(std::move(stale));
  return joined;
}

PooledInstance* InstancePool::Share(const v1::FunctionSpec& function,
                                    std::unique_ptr<PooledInstance> instance) {
  PooledInstance* raw = instance.get();
  absl::MutexLock lock(&mu_);
  Shared& shared = shared_[raw];
  shared.key = InstanceKey(function);
  shared.owner = std::move(instance);
  shared.calls = 1;
  shared.limit = std::max<uint32_t>(1, function.warm().concurrency());
  return raw;
}

InstancePool::Held InstancePool::Acquire(const v1::FunctionSpec& function) {
  Held held;
  held.shared = function.warm().concurrency() > 1;
  if (held.shared) {
    held.instance = Join(function, &held.mode);
  } else {
    held.owned = Take(function);
    held.instance = held.owned.get();
    held.mode = ModeOf(held.instance);
  }
  return held;
}

void InstancePool::Adopt(const v1::FunctionSpec& function, Held* held,
                         std::unique_ptr<PooledInstance> instance) {
  if (held->shared) {
    held->instance = Share(function, std::move(instance));
  } else {
    held->owned = std::move(instance);
    held->instance = held->owned.get();
  }
}

std::unique_ptr<PooledInstance> InstancePool::Release(Held* held, bool reusable) {
  PooledInstance* instance = std::exchange(held->instance, nullptr);
  if (held->shared) return Leave(instance, reusable);
  if (reusable) return std::move(held->owned);
  Destroy(std::move(held->owned));
  return nullptr;
}

std::unique_ptr<PooledInstance> InstancePool::Leave(PooledInstance* instance, bool reusable) {
  std::unique_ptr<PooledInstance> owner;
  bool open = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = shared_.find(instance);
    if (it == shared_.end()) return nullptr;
    if (!reusable) it->second.open = false;
    if (--it->second.calls > 0) return nullptr;
    owner = std::move(it->second.owner);
    open = it->second.open;
    shared_.erase(it);
  }
  if (open) return owner;
  Destroy(std::move(owner));
  return nullptr;
}

void InstancePool::CallStarted(const std::string& function) {
  absl::MutexLock lock(&mu_);
  ++serving_[function];
}

void InstancePool::CallEnded(const std::string& function) {
  absl::MutexLock lock(&mu_);
  if (--serving_[function] == 0) serving_.erase(function);
}

std::vector<v1::WarmInstance> InstancePool::WarmSet() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::WarmInstance> set = pool_.Snapshot();
  for (const auto& [function, count] : serving_) {
    auto warm = std::find_if(set.begin(), set.end(), [&](const v1::WarmInstance& w) {
      return w.function() == function && w.mode() == v1::EXECUTION_MODE_WARM;
    });
    if (warm == set.end()) {
      warm = set.insert(set.end(), v1::WarmInstance());
      warm->set_function(function);
      warm->set_mode(v1::EXECUTION_MODE_WARM);
    }
    warm->set_count(warm->count() + count);
  }
  return set;
}

void InstancePool::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
}

void InstancePool::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](InstancePool* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->tasks_.empty() && !self->busy_;
      },
      this));
}

void InstancePool::Loop() {
  NameThisThread("instance-pool");
  while (true) {
    std::function<void()> task;
    WarmPool::Evicted expired;
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      const absl::Time wake = std::min(pool_.NextExpiry(), absl::Now() + absl::Seconds(1));
      mu_.AwaitWithDeadline(absl::Condition(
                                +[](InstancePool* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                                  return self->stop_ || !self->tasks_.empty();
                                },
                                this),
                            wake);
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
        busy_ = true;
      } else if (stop_) {
        return;
      } else {
        expired = pool_.Expire(absl::Now());
      }
    }
    if (task) task();
    Destroy(std::move(expired));
  }
}

}  // namespace fsched::worker
