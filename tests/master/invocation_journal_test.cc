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
#include "absl/synchronization/mutex.h"

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

v1::Invocation Done(const std::string& id, const std::string& output = "") {
  v1::Invocation done;
  done.set_id(id);
  done.set_function("f");
  done.set_state(v1::INVOCATION_STATE_DONE);
  done.mutable_result()->set_stdout(output);
  return done;
}

// Commits never checkpoint the WAL themselves; the store's own thread does,
// and holds commits off only for the last few frames, so the WAL starts over
// even under a steady stream of commits. Without it, these commits (well over
// a hundred megabytes of WAL frames) would pile up in the WAL.
TEST(StoreJournalTest, TheWalIsCheckpointedAndStartsOverUnderSteadyCommits) {
  const std::string dir = ::testing::TempDir() + "/journal-wal";
  std::filesystem::remove_all(dir);
  auto store = FunctionStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  uintmax_t largest_wal = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string id = absl::StrCat("inv-", i);
    FunctionStore::JournalBatch batch;
    batch.accepted.emplace_back(id, Accepted(id, i).SerializeAsString());
    batch.finished.emplace_back(absl::StrCat("inv-", i - 1),
                                Done("", std::string(500, 'y')).SerializeAsString());
    ASSERT_TRUE((*store)->WriteJournal(batch).ok());
    if (i % 1000 == 0) {
      std::error_code ec;
      largest_wal = std::max(largest_wal, std::filesystem::file_size(dir + "/fsched.db-wal", ec));
    }
  }
  std::error_code ec;
  EXPECT_GT(std::filesystem::file_size(dir + "/fsched.db", ec), 4u << 20)
      << "nothing was checkpointed into the database";
  EXPECT_LT(largest_wal, 64u << 20) << "the WAL never started over";
  store->reset();
  EXPECT_FALSE(std::filesystem::exists(dir + "/fsched.db-wal")) << "the last close checkpoints";
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
          if (i % 2 == 0) journal.Finished(Done(id));
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

// Nobody waits in Accept: its answer comes from the writer thread once the
// record is in the store; what the answer does there (queue it, answer the
// caller) may hand the journal more (its dispatch). Close answers what is
// pending, writes what that added, and refuses acceptances after it.
TEST(StoreJournalTest, AcceptAnswersFromTheWriterAndCloseRefusesWhatComesAfter) {
  const std::string dir = ::testing::TempDir() + "/journal-accept-test";
  std::filesystem::remove_all(dir);
  auto store = FunctionStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  StoreJournal journal(store->get());
  absl::Mutex mu;
  std::vector<std::string> answered;
  std::set<std::thread::id> answered_on;
  for (int i = 0; i < 20; ++i) {
    const std::string id = absl::StrCat("inv-", i);
    journal.Accept(Accepted(id, i), [&, id](absl::Status recorded) {
      EXPECT_TRUE(recorded.ok()) << recorded;
      // In the store before anyone hears of it.
      auto now = (*store)->LoadAccepted();
      ASSERT_TRUE(now.ok());
      EXPECT_TRUE(std::any_of(now->begin(), now->end(), [&](const auto& a) {
        return a.id() == id;
      })) << id;
      journal.Dispatched(id, "w1", 1, absl::FromUnixSeconds(1700000000));
      absl::MutexLock lock(&mu);
      answered.push_back(id);
      answered_on.insert(std::this_thread::get_id());
    });
  }
  journal.Close();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(answered.size(), 20u);
    EXPECT_FALSE(answered_on.contains(std::this_thread::get_id()));
  }
  auto dispatched = (*store)->LoadAccepted();
  ASSERT_TRUE(dispatched.ok()) << dispatched.status();
  ASSERT_EQ(dispatched->size(), 20u);
  for (const auto& a : *dispatched) EXPECT_EQ(a.worker_id(), "w1") << a.id();

  absl::Status late;
  journal.Accept(Accepted("late", 99), [&](absl::Status recorded) { late = recorded; });
  EXPECT_EQ(late.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->LoadAccepted()->size(), 20u);
}

// Dispatches come back with the accepted invocation (the last one wins; an
// empty worker is a re-queue that keeps its attempts); a finished one leaves
// the accepted set for the finished set until it is forgotten; a forgotten
// one that was never queued, or dispatched and never finished, leaves nothing
// either.
TEST(StoreJournalTest, DispatchesAndResultsAreRecordedUntilForgotten) {
  const std::string dir = ::testing::TempDir() + "/journal-dispatch-test";
  std::filesystem::remove_all(dir);
  auto store = FunctionStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Time at = absl::FromUnixSeconds(1700000000) + absl::Milliseconds(250);
  {
    StoreJournal journal(store->get());
    for (const char* id :
         {"running", "requeued", "finished", "forgotten", "never-queued", "dropped"}) {
      ASSERT_TRUE(journal.Accepted(Accepted(id, 1)).ok());
    }
    journal.Dispatched("running", "w1", 1, at - absl::Seconds(5));
    journal.Dispatched("running", "w2", 2, at);  // lost on w1, then went to w2
    journal.Dispatched("requeued", "w1", 1, at);
    journal.Dispatched("requeued", "", 1, absl::Time());
    journal.Dispatched("finished", "w1", 1, at);
    journal.Finished(Done("finished", "its output"));
    journal.Finished(Done("forgotten"));
    journal.Forgotten({"forgotten"});
    journal.Forgotten({"never-queued"});
    journal.Dispatched("dropped", "w1", 1, at);
    journal.Forgotten({"dropped"});  // dispatched, never finished: its dispatch goes too
  }
  {
    // Accepted again under the same id, it carries no dispatch of the first.
    StoreJournal journal(store->get());
    ASSERT_TRUE(journal.Accepted(Accepted("dropped", 1)).ok());
  }
  auto accepted = (*store)->LoadAccepted();
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  ASSERT_EQ(accepted->size(), 3u);
  std::sort(accepted->begin(), accepted->end(),
            [](const auto& a, const auto& b) { return a.id() > b.id(); });
  EXPECT_EQ((*accepted)[2].id(), "dropped");
  EXPECT_EQ((*accepted)[2].worker_id(), "");
  EXPECT_EQ((*accepted)[2].attempts(), 0u);
  EXPECT_EQ((*accepted)[0].id(), "running");
  EXPECT_EQ((*accepted)[0].worker_id(), "w2");
  EXPECT_EQ((*accepted)[0].attempts(), 2u);
  EXPECT_EQ(absl::FromUnixSeconds((*accepted)[0].dispatched().seconds()) +
                absl::Nanoseconds((*accepted)[0].dispatched().nanos()),
            at);
  EXPECT_EQ((*accepted)[1].id(), "requeued");
  EXPECT_EQ((*accepted)[1].worker_id(), "");
  EXPECT_EQ((*accepted)[1].attempts(), 1u);
  auto finished = (*store)->LoadFinished();
  ASSERT_TRUE(finished.ok()) << finished.status();
  ASSERT_EQ(finished->size(), 1u);
  EXPECT_EQ((*finished)[0].id(), "finished");
  EXPECT_EQ((*finished)[0].result().stdout(), "its output");
}

}  // namespace
}  // namespace fsched::master
