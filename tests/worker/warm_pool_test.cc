#include "worker/warm_pool.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "worker/instance_pool.h"

namespace fsched::worker {
namespace {

struct FakeInstance : PooledInstance {
  FakeInstance(int id, bool started) : id(id), is_started(started) {}
  bool served() const override { return is_started; }
  int id;
  bool is_started;
};

const absl::Time kT0 = absl::FromUnixSeconds(1000);

WarmPool::Entry Entry(const std::string& key, int id, bool started, uint64_t memory = 10,
                      absl::Duration keep_alive = absl::Minutes(1), uint32_t cap = 0) {
  WarmPool::Entry e;
  e.key = key;
  e.function = key.substr(0, key.find('@'));
  e.memory_bytes = memory;
  e.keep_alive = keep_alive;
  e.max_instances = cap;
  e.instance = std::make_unique<FakeInstance>(id, started);
  return e;
}

int Id(const std::unique_ptr<PooledInstance>& p) {
  return p == nullptr ? -1 : static_cast<const FakeInstance&>(*p).id;
}

std::vector<int> Ids(const WarmPool::Evicted& evicted) {
  std::vector<int> ids;
  for (const auto& p : evicted) ids.push_back(Id(p));
  return ids;
}

// The ids of the instances a pool destroys, recorded on its thread.
class DestroyedIds {
 public:
  std::function<void(std::unique_ptr<PooledInstance>)> Recorder() {
    return [this](std::unique_ptr<PooledInstance> instance) {
      absl::MutexLock lock(&mu_);
      ids_.push_back(Id(instance));
    };
  }
  std::vector<int> ids() const {
    absl::MutexLock lock(&mu_);
    return ids_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int> ids_;
};

TEST(WarmPoolTest, TakesTheMostRecentWarmInstanceThenAPrewarmedOne) {
  WarmPool pool(1000);
  EXPECT_TRUE(pool.Put(Entry("f@1", 1, false), kT0).empty());
  EXPECT_TRUE(pool.Put(Entry("f@1", 2, true), kT0 + absl::Seconds(1)).empty());
  EXPECT_TRUE(pool.Put(Entry("f@1", 3, true), kT0 + absl::Seconds(2)).empty());
  EXPECT_TRUE(pool.Put(Entry("g@1", 4, true), kT0).empty());
  EXPECT_EQ(pool.Count("f@1"), 3u);
  EXPECT_EQ(Id(pool.Take("f@1")), 3);
  EXPECT_EQ(Id(pool.Take("f@1")), 2);
  EXPECT_EQ(Id(pool.Take("f@1")), 1);  // pre-warmed only when no warm one is idle
  EXPECT_EQ(Id(pool.Take("f@1")), -1);
  EXPECT_EQ(Id(pool.Take("f@2")), -1);  // another version of f is not interchangeable
  EXPECT_EQ(pool.memory_bytes(), 10u);
}

TEST(WarmPoolTest, CapsIdleInstancesPerKeyOldestFirst) {
  WarmPool pool(1000);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(pool.Put(Entry("f@1", i, true, 10, absl::Minutes(1), 3), kT0).empty());
  }
  EXPECT_EQ(Ids(pool.Put(Entry("f@1", 4, true, 10, absl::Minutes(1), 3), kT0)),
            std::vector<int>{1});
  EXPECT_EQ(pool.Count("f@1"), 3u);
}

TEST(WarmPoolTest, EvictsLeastRecentlyUsedToStayWithinTheMemoryBudget) {
  WarmPool pool(100);
  EXPECT_TRUE(pool.Put(Entry("a@1", 1, true, 40), kT0).empty());
  EXPECT_TRUE(pool.Put(Entry("b@1", 2, true, 40), kT0 + absl::Seconds(1)).empty());
  // a is reused, so b becomes the least recently used.
  std::unique_ptr<PooledInstance> a = pool.Take("a@1");
  EXPECT_TRUE(pool.Put(Entry("a@1", 1, true, 40), kT0 + absl::Seconds(2)).empty());
  EXPECT_EQ(Ids(pool.Put(Entry("c@1", 3, true, 40), kT0 + absl::Seconds(3))), std::vector<int>{2});
  EXPECT_EQ(pool.memory_bytes(), 80u);
  // An instance larger than the whole budget is not kept at all.
  EXPECT_EQ(Ids(pool.Put(Entry("d@1", 4, true, 500), kT0 + absl::Seconds(4))),
            (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.memory_bytes(), 0u);
}

TEST(WarmPoolTest, ExpiresIdleInstancesAfterTheirKeepAlive) {
  WarmPool pool(1000);
  EXPECT_TRUE(pool.Put(Entry("f@1", 1, true, 10, absl::Seconds(10)), kT0).empty());
  EXPECT_TRUE(pool.Put(Entry("g@1", 2, true, 10, absl::Seconds(60)), kT0).empty());
  EXPECT_EQ(pool.NextExpiry(), kT0 + absl::Seconds(10));
  EXPECT_TRUE(pool.Expire(kT0 + absl::Seconds(9)).empty());
  EXPECT_EQ(Ids(pool.Expire(kT0 + absl::Seconds(10))), std::vector<int>{1});
  EXPECT_EQ(pool.NextExpiry(), kT0 + absl::Seconds(60));
  EXPECT_EQ(Ids(pool.Expire(kT0 + absl::Hours(1))), std::vector<int>{2});
  EXPECT_EQ(pool.NextExpiry(), absl::InfiniteFuture());
}

TEST(WarmPoolTest, EvictsAFunctionOrItsOtherVersionsAndReportsTheWarmSet) {
  WarmPool pool(1000);
  EXPECT_TRUE(pool.Put(Entry("f@1", 1, true), kT0).empty());
  EXPECT_TRUE(pool.Put(Entry("f@2", 2, true), kT0).empty());
  EXPECT_TRUE(pool.Put(Entry("f@2", 3, false), kT0).empty());
  EXPECT_TRUE(pool.Put(Entry("g@1", 4, false), kT0).empty());
  const std::vector<v1::WarmInstance> set = pool.Snapshot();
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set[0].function(), "f");
  EXPECT_EQ(set[0].mode(), v1::EXECUTION_MODE_PREWARMED);
  EXPECT_EQ(set[0].count(), 1u);
  EXPECT_EQ(set[1].function(), "f");
  EXPECT_EQ(set[1].mode(), v1::EXECUTION_MODE_WARM);
  EXPECT_EQ(set[1].count(), 2u);
  EXPECT_EQ(set[2].function(), "g");

  EXPECT_EQ(Ids(pool.EvictFunction("f", "f@2")), std::vector<int>{1});
  EXPECT_EQ(Ids(pool.EvictFunction("f")), (std::vector<int>{2, 3}));
  EXPECT_EQ(Ids(pool.Clear()), std::vector<int>{4});
}

// The runtimes' shared pool: instances in and out by function version, the
// ones serving a call counted warm, pre-warm on its thread, and every
// instance destroyed on that thread (the one that outlives the pool too).
TEST(InstancePoolTest, KeepsTakesPrewarmsReportsAndDestroysOnItsThread) {
  absl::Mutex mu;
  std::vector<int> destroyed;
  std::thread::id destroyer;
  int next_id = 0;
  auto pool = std::make_unique<InstancePool>(100, absl::Minutes(1),
                                             [&](std::unique_ptr<PooledInstance> instance) {
                                               absl::MutexLock lock(&mu);
                                               destroyed.push_back(Id(instance));
                                               destroyer = std::this_thread::get_id();
                                             });
  v1::FunctionSpec f;
  f.set_name("f");
  pool->Keep(f, std::make_unique<FakeInstance>(next_id++, true), 10);
  EXPECT_EQ(pool->WarmSet().size(), 1u);
  std::unique_ptr<PooledInstance> taken = pool->Take(f);
  EXPECT_EQ(Id(taken), 0);
  EXPECT_EQ(pool->Take(f), nullptr);

  // Serving a call: still reported warm.
  pool->CallStarted("f");
  std::vector<v1::WarmInstance> set = pool->WarmSet();
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].mode(), v1::EXECUTION_MODE_WARM);
  EXPECT_EQ(set[0].count(), 1u);
  pool->CallEnded("f");
  EXPECT_TRUE(pool->WarmSet().empty());

  // A new version of f makes the old instance go.
  pool->Keep(f, std::move(taken), 10);
  v1::FunctionSpec f2 = f;
  f2.add_command("new");
  pool->Prewarm(f2, 2, [&] {
    pool->Keep(f2, std::make_unique<FakeInstance>(next_id++, false), 10);
    return true;
  });
  pool->WaitIdle();
  set = pool->WarmSet();
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].mode(), v1::EXECUTION_MODE_PREWARMED);
  EXPECT_EQ(set[0].count(), 2u);
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(destroyed, std::vector<int>{0});
    EXPECT_NE(destroyer, std::this_thread::get_id());
  }
  // A keep-alive of zero: not kept at all.
  v1::FunctionSpec brief = f;
  brief.set_name("brief");
  brief.mutable_warm()->mutable_keep_alive();  // set, zero
  pool->Keep(brief, std::make_unique<FakeInstance>(next_id++, true), 10);
  pool->Shutdown();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(destroyed.size(), 4u);  // 0, the zero keep-alive one, and the two pre-warmed
}

// What a runtime's call does with the pool: Acquire (none: it makes one
// and Adopts it), the call, Release (back to keep, or destroyed). With
// warm.concurrency > 1 calls share one instance until the last leaves.
TEST(InstancePoolTest, ACallAcquiresAdoptsAndReleasesAloneOrShared) {
  DestroyedIds destroyed;
  InstancePool pool(100, absl::Minutes(1), destroyed.Recorder());
  v1::FunctionSpec alone;
  alone.set_name("alone");

  InstancePool::Held first = pool.Acquire(alone);
  EXPECT_EQ(first.instance, nullptr);
  EXPECT_EQ(first.mode, v1::EXECUTION_MODE_COLD);
  pool.Adopt(alone, &first, std::make_unique<FakeInstance>(1, true));
  EXPECT_EQ(static_cast<FakeInstance*>(first.instance)->id, 1);
  // The call has it alone: a second call meanwhile finds none.
  EXPECT_EQ(pool.Acquire(alone).instance, nullptr);
  std::unique_ptr<PooledInstance> back = pool.Release(&first, /*reusable=*/true);
  EXPECT_EQ(Id(back), 1);
  pool.Keep(alone, std::move(back), 10);
  InstancePool::Held warm = pool.Acquire(alone);
  EXPECT_EQ(warm.mode, v1::EXECUTION_MODE_WARM);
  EXPECT_EQ(pool.Release(&warm, /*reusable=*/false), nullptr);  // destroyed instead
  pool.WaitIdle();
  EXPECT_EQ(destroyed.ids(), std::vector<int>{1});

  v1::FunctionSpec shared;
  shared.set_name("shared");
  shared.mutable_warm()->set_concurrency(2);
  InstancePool::Held a = pool.Acquire(shared);
  EXPECT_EQ(a.instance, nullptr);
  pool.Adopt(shared, &a, std::make_unique<FakeInstance>(2, true));
  InstancePool::Held b = pool.Acquire(shared);
  EXPECT_EQ(b.instance, a.instance);
  EXPECT_EQ(b.mode, v1::EXECUTION_MODE_WARM);
  EXPECT_EQ(pool.Acquire(shared).instance, nullptr);  // two calls fill it
  EXPECT_EQ(pool.Release(&a, true), nullptr);         // b still serves in it
  EXPECT_EQ(Id(pool.Release(&b, true)), 2);           // the last one out gets it back
}

TEST(InstancePoolTest, AnInstanceRemembersTheKeyOfItsVersionAndIsKeptUnderIt) {
  DestroyedIds destroyed;
  InstancePool pool(100, absl::Minutes(1), destroyed.Recorder());
  v1::FunctionSpec first;
  first.set_name("f");
  (*first.mutable_env())["MODE"] = "a";
  v1::FunctionSpec second = first;
  (*second.mutable_env())["MODE"] = "b";
  ASSERT_NE(InstanceKey(first), InstanceKey(second));

  pool.Keep(first, std::make_unique<FakeInstance>(1, true), 10);
  std::unique_ptr<PooledInstance> taken = pool.Take(first);
  ASSERT_EQ(Id(taken), 1);
  EXPECT_EQ(taken->pool_key(), InstanceKey(first));
  pool.Keep(first, std::move(taken), 10);  // after its call, under the key it remembers
  EXPECT_EQ(pool.Acquire(first).mode, v1::EXECUTION_MODE_WARM);
  pool.Keep(first, std::make_unique<FakeInstance>(2, true), 10);
  // The other version finds none of the first's, and they go.
  EXPECT_EQ(pool.Take(second), nullptr);
  pool.WaitIdle();
  EXPECT_EQ(destroyed.ids(), std::vector<int>{2});
}

}  // namespace
}  // namespace fsched::worker
