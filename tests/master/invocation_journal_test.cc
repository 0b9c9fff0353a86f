// The SQLite journal of accepted invocations: what its callers were told was
// recorded is in the store, across threads and groups; finished ones go, and
// what is pending when the journal stops is written first.
#include "master/invocation_journal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"

namespace fsched::master {
namespace {

v1::AcceptedInvocation Accepted(const std::string& id, int64_t second) {
  v1::AcceptedInvocation a;
  a.set_id(id);
  a.mutable_spec()->set_name("f");
  a.mutable_request()->set_payload(std::string(100, 'x'));
  a.mutable_submitted()->set_seconds(second);
  return a;
}

TEST(StoreJournalTest, RecordsFromManyThreadsForgetsTheFinishedAndFlushesOnStop) {
  const std::string dir = ::testing::TempDir() + "/journal-test";
  std::filesystem::remove_all(dir);
  auto store = FunctionStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  {
    StoreJournal journal(store->get());
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&journal, &store, t] {
        for (int i = 0; i < 50; ++i) {
          const std::string id = absl::StrCat("inv-", t, "-", i);
          ASSERT_TRUE(journal.Accepted(Accepted(id, t * 100 + i)).ok()) << id;
          if (i == 7) {  // told "recorded": it is in the store already
            auto now = (*store)->LoadAccepted();
            ASSERT_TRUE(now.ok());
            EXPECT_TRUE(std::any_of(now->begin(), now->end(), [&](const auto& a) {
              return a.id() == id;
            })) << id;
          }
          if (i % 2 == 0) journal.Finished(id);
        }
      });
    }
    for (std::thread& c : callers) c.join();
    // The last Finished calls may still be pending: the destructor writes them.
  }
  auto left = (*store)->LoadAccepted();
  ASSERT_TRUE(left.ok()) << left.status();
  std::set<std::string> ids;
  for (const auto& a : *left) ids.insert(a.id());
  ASSERT_EQ(ids.size(), 100u);  // the odd ones of 4 × 50
  for (int t = 0; t < 4; ++t) {
    for (int i = 1; i < 50; i += 2) EXPECT_TRUE(ids.contains(absl::StrCat("inv-", t, "-", i)));
  }
}

}  // namespace
}  // namespace fsched::master
