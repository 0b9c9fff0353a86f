#include "worker/warm_pool.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <map>

#include "absl/hash/hash.h"
#include "absl/strings/str_format.h"

namespace fsched::worker {

std::string InstanceKey(const v1::FunctionSpec& function) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  {
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    function.SerializeToCodedStream(&coded);
  }
  return absl::StrFormat("%s@%016x", function.name(), absl::HashOf(bytes));
}

std::unique_ptr<PooledInstance> WarmPool::Remove(std::list<Idle>::iterator it) {
  used_ -= it->entry.memory_bytes;
  std::unique_ptr<PooledInstance> instance = std::move(it->entry.instance);
  idle_.erase(it);
  return instance;
}

std::unique_ptr<PooledInstance> WarmPool::Take(const std::string& key) {
  auto prewarmed = idle_.end();
  // Back to front: the most recently used warm instance is the one most likely still cached.
  for (auto it = idle_.end(); it != idle_.begin();) {
    --it;
    if (it->entry.key != key) continue;
    if (it->entry.instance->served()) return Remove(it);
    if (prewarmed == idle_.end()) prewarmed = it;
  }
  return prewarmed == idle_.end() ? nullptr : Remove(prewarmed);
}

WarmPool::Evicted WarmPool::Put(Entry entry, absl::Time now) {
  Evicted evicted;
  const std::string key = entry.key;
  const uint32_t cap = entry.max_instances;
  used_ += entry.memory_bytes;
  idle_.push_back({std::move(entry), now});
  if (cap > 0) {
    size_t count = 0;
    for (const Idle& idle : idle_) count += idle.entry.key == key ? 1 : 0;
    for (auto it = idle_.begin(); it != idle_.end() && count > cap;) {
      if (it->entry.key == key) {
        evicted.push_back(Remove(it++));
        --count;
      } else {
        ++it;
      }
    }
  }
  while (used_ > budget_ && !idle_.empty()) evicted.push_back(Remove(idle_.begin()));
  return evicted;
}

WarmPool::Evicted WarmPool::Expire(absl::Time now) {
  Evicted evicted;
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (now - it->since >= it->entry.keep_alive) {
      evicted.push_back(Remove(it++));
    } else {
      ++it;
    }
  }
  return evicted;
}

WarmPool::Evicted WarmPool::EvictFunction(const std::string& function,
                                          const std::string& keep_key) {
  Evicted evicted;
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (it->entry.function == function && it->entry.key != keep_key) {
      evicted.push_back(Remove(it++));
    } else {
      ++it;
    }
  }
  return evicted;
}

WarmPool::Evicted WarmPool::Clear() {
  Evicted evicted;
  while (!idle_.empty()) evicted.push_back(Remove(idle_.begin()));
  return evicted;
}

std::vector<v1::WarmInstance> WarmPool::Snapshot() const {
  std::map<std::pair<std::string, bool>, uint32_t> counts;
  for (const Idle& idle : idle_) ++counts[{idle.entry.function, idle.entry.instance->served()}];
  std::vector<v1::WarmInstance> out;
  for (const auto& [key, count] : counts) {
    v1::WarmInstance& w = out.emplace_back();
    w.set_function(key.first);
    w.set_mode(key.second ? v1::EXECUTION_MODE_WARM : v1::EXECUTION_MODE_PREWARMED);
    w.set_count(count);
  }
  return out;
}

size_t WarmPool::Count(const std::string& key) const {
  size_t n = 0;
  for (const Idle& idle : idle_) n += idle.entry.key == key ? 1 : 0;
  return n;
}

absl::Time WarmPool::NextExpiry() const {
  absl::Time next = absl::InfiniteFuture();
  for (const Idle& idle : idle_) next = std::min(next, idle.since + idle.entry.keep_alive);
  return next;
}

}  // namespace fsched::worker
