// The invocation table on its own: states, attempts, waiters, retention and
// closing, with no scheduler around it.
#include "master/invocation_table.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"

namespace fsched::master {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1000);

v1::FunctionSpec Spec() {
  v1::FunctionSpec spec;
  spec.set_name("f");
  spec.add_command("true");
  return spec;
}

scheduling::WorkerView Worker(const std::string& id) {
  scheduling::WorkerView w;
  w.id = id;
  w.slots = w.free_slots = 1;
  return w;
}

v1::InvocationResult Ok(const std::string& id, uint32_t attempt) {
  v1::InvocationResult r;
  r.set_invocation_id(id);
  r.set_attempts(attempt);
  r.set_outcome(v1::OUTCOME_OK);
  return r;
}

TEST(InvocationTableTest, LifecycleFromQueuedToDoneCallsTheWaiterOnce) {
  InvocationTable table({.results = 10});
  int calls = 0;
  v1::Invocation seen;
  absl::StatusOr<std::string> id = table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow,
                                                [&](const v1::Invocation& inv) {
                                                  ++calls;
                                                  seen = inv;
                                                });
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(table.Get(*id)->state(), v1::INVOCATION_STATE_QUEUED);
  std::optional<v1::Assignment> a =
      table.StartAttempt(*id, Worker("w1"), "fifo", "round-robin", 0.5, kNow);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->attempt(), 1u);
  EXPECT_EQ(table.Get(*id)->state(), v1::INVOCATION_STATE_RUNNING);
  EXPECT_EQ(table.RunningOn(*id), "w1");
  EXPECT_EQ(table.running(), 1u);
  EXPECT_FALSE(table.Complete(*id, 2, Ok(*id, 2), kNow));  // not the current attempt
  EXPECT_TRUE(table.Complete(*id, 1, Ok(*id, 1), kNow + absl::Seconds(1)));
  EXPECT_FALSE(table.Complete(*id, 1, Ok(*id, 1), kNow));  // done already
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.state(), v1::INVOCATION_STATE_DONE);
  EXPECT_EQ(table.running(), 0u);
  EXPECT_EQ(table.RunningOn(*id), "");
  // A waiter added after the end is called at once.
  int late = 0;
  ASSERT_TRUE(table.AddWaiter(*id, [&](const v1::Invocation&) { ++late; }).ok());
  EXPECT_EQ(late, 1);
}

TEST(InvocationTableTest, ALostWorkerRequeuesUntilTheAttemptsRunOut) {
  InvocationTable table({.results = 10});
  const std::string id = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  ASSERT_TRUE(table.StartAttempt(id, Worker("w1"), "fifo", "round-robin", 0, kNow));
  EXPECT_EQ(table.OnWorkerLost(id, 1, 2, kNow), InvocationTable::LossAction::kRequeue);
  EXPECT_EQ(table.Get(id)->state(), v1::INVOCATION_STATE_QUEUED);
  EXPECT_EQ(table.OnWorkerLost(id, 1, 2, kNow), InvocationTable::LossAction::kStale);
  ASSERT_TRUE(table.StartAttempt(id, Worker("w2"), "fifo", "round-robin", 0, kNow));
  EXPECT_EQ(table.OnWorkerLost(id, 2, 2, kNow), InvocationTable::LossAction::kGaveUp);
  const v1::Invocation done = *table.Get(id);
  EXPECT_EQ(done.state(), v1::INVOCATION_STATE_DONE);
  EXPECT_EQ(done.result().outcome(), v1::OUTCOME_REJECTED);
}

TEST(InvocationTableTest, RejectFinishesAQueuedInvocation) {
  InvocationTable table({.results = 10});
  const std::string id = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  EXPECT_TRUE(table.Reject(id, v1::OUTCOME_CANCELLED, "cancelled by the client", kNow));
  EXPECT_FALSE(table.Reject(id, v1::OUTCOME_CANCELLED, "again", kNow));
  EXPECT_EQ(table.Get(id)->result().outcome(), v1::OUTCOME_CANCELLED);
  // A finished invocation cannot start.
  EXPECT_FALSE(table.StartAttempt(id, Worker("w1"), "fifo", "round-robin", 0, kNow).has_value());
}

TEST(InvocationTableTest, RetentionKeepsTheNewestFinishedRecords) {
  InvocationTable table({.results = 2});
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(*table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {}));
    ASSERT_TRUE(table.Reject(ids.back(), v1::OUTCOME_CANCELLED, "x", kNow));
  }
  EXPECT_EQ(table.Get(ids[0]).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(table.Get(ids[1]).ok());
  EXPECT_TRUE(table.Get(ids[2]).ok());
}

// Results are forgotten oldest first once they exceed the byte budget, and
// once they are older than the age, whichever comes first.
TEST(InvocationTableTest, RetentionKeepsResultsWithinABudgetOfBytesAndAnAge) {
  const auto finish = [](InvocationTable& table, absl::Time at) {
    const std::string id = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), at, {});
    EXPECT_TRUE(table.StartAttempt(id, Worker("w1"), "fifo", "round-robin", 0, at).has_value());
    v1::InvocationResult r = Ok(id, 1);
    r.set_stdout(std::string(10000, 'x'));
    EXPECT_TRUE(table.Complete(id, 1, std::move(r), at));
    return id;
  };
  {
    InvocationTable probe({});
    finish(probe, kNow);
    const uint64_t one = probe.retained().bytes;
    EXPECT_GT(one, 10000u);
    EXPECT_LT(one, 10000u + 2 * InvocationTable::kRecordOverheadBytes);
    // Room for two and a half: the third result pushes the first out.
    InvocationTable table({.results = 100, .bytes = one * 5 / 2, .age = absl::Hours(1)});
    const std::string a = finish(table, kNow), b = finish(table, kNow), c = finish(table, kNow);
    EXPECT_EQ(table.Get(a).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(table.Get(b)->result().stdout().size(), 10000u);
    EXPECT_TRUE(table.Get(c).ok());
    EXPECT_EQ(table.retained().results, 2u);
    EXPECT_EQ(table.retained().bytes, 2 * one);
  }
  InvocationTable table({.results = 100, .bytes = uint64_t{1} << 30, .age = absl::Seconds(10)});
  const std::string old = finish(table, kNow);
  const std::string recent = finish(table, kNow + absl::Seconds(8));
  EXPECT_EQ(table.ExpireResults(kNow + absl::Seconds(10)), 0u);  // exactly the age: kept
  EXPECT_EQ(table.ExpireResults(kNow + absl::Seconds(11)), 1u);
  EXPECT_EQ(table.Get(old).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(table.Get(recent).ok());
  // A result finishing later also trims what has aged, without housekeeping.
  const std::string last = finish(table, kNow + absl::Seconds(30));
  EXPECT_EQ(table.Get(recent).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(table.retained().results, 1u);
  EXPECT_TRUE(table.Get(last).ok());
}

TEST(InvocationTableTest, UnknownIdsAreNotFoundAndDiscardForgets) {
  InvocationTable table({.results = 10});
  EXPECT_EQ(table.Get("inv-nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(table.AddWaiter("inv-nope", {}).code(), absl::StatusCode::kNotFound);
  const std::string id = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  table.Discard(id);
  EXPECT_EQ(table.Get(id).status().code(), absl::StatusCode::kNotFound);
}

TEST(InvocationTableTest, CloseAnswersEveryWaiterAndRefusesNewWork) {
  InvocationTable table({.results = 10});
  v1::Invocation seen;
  const std::string id = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow,
                                       [&](const v1::Invocation& inv) { seen = inv; });
  table.Close();
  EXPECT_EQ(seen.id(), id);
  EXPECT_NE(seen.state(), v1::INVOCATION_STATE_DONE);  // as it stood
  EXPECT_EQ(table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {}).status().code(),
            absl::StatusCode::kUnavailable);
}

namespace fsched::master {
namespace {

// max_concurrency counts what is accepted and not finished, queued or running.
TEST(InvocationTableTest, MaxConcurrencyRefusesBeyondWhatIsInFlight) {
  InvocationTable table({.results = 10});
  v1::FunctionSpec spec = Spec();
  spec.set_max_concurrency(2);
  absl::StatusOr<std::string> a =
      table.Create(spec, v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  absl::StatusOr<std::string> b =
      table.Create(spec, v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(table.StartAttempt(*a, Worker("w1"), "fifo", "round-robin", 0, kNow).has_value());
  EXPECT_EQ(table.InFlight("f"), 2u);
  absl::StatusOr<std::string> c =
      table.Create(spec, v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("max_concurrency"), std::string::npos);
  // Another function is not counted against it.
  v1::FunctionSpec other = Spec();
  other.set_name("g");
  EXPECT_TRUE(table.Create(other, v1::InvokeRequest(), absl::Seconds(5), kNow, {}).ok());
  // A finished one, a rejected one and a discarded one each free a place.
  ASSERT_TRUE(table.Complete(*a, 1, Ok(*a, 1), kNow));
  EXPECT_EQ(table.InFlight("f"), 1u);
  c = table.Create(spec, v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(table.Reject(*b, v1::OUTCOME_CANCELLED, "cancelled", kNow));
  table.Discard(*c);
  EXPECT_EQ(table.InFlight("f"), 0u);
  table.Discard(*a);  // finished already: nothing to give back
  EXPECT_EQ(table.InFlight("f"), 0u);
  EXPECT_TRUE(table.Create(spec, v1::InvokeRequest(), absl::Seconds(5), kNow, {}).ok());
}

}  // namespace
}  // namespace fsched::master

// What the table tells its journal, in order: each dispatch, a re-queue after
// a lost worker (attempts kept), the finished invocation with its result, and
// the records retention forgets.
class RecordingJournal : public InvocationJournal {
 public:
  void Accept(const v1::AcceptedInvocation&, std::function<void(absl::Status)> recorded) override {
    recorded(absl::OkStatus());
  }
  void Dispatched(const std::string& id, const std::string& worker_id, uint32_t attempts,
                  absl::Time) override {
    events.push_back(absl::StrCat("dispatched ", id, " to '", worker_id, "' #", attempts));
  }
  void Finished(v1::Invocation invocation) override {
    events.push_back(absl::StrCat("finished ", invocation.id(), " ",
                                  v1::InvocationState_Name(invocation.state()), " '",
                                  invocation.result().stdout(), "'"));
  }
  void Forgotten(std::vector<std::string> ids) override {
    for (const std::string& id : ids) events.push_back("forgot " + id);
  }
  std::vector<std::string> events;
};

TEST(InvocationTableTest, TheJournalHearsDispatchesResultsAndWhatIsForgotten) {
  InvocationTable table({.results = 1});
  RecordingJournal journal;
  table.set_journal(&journal);
  const std::string a = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  ASSERT_TRUE(table.StartAttempt(a, Worker("w1"), "fifo", "round-robin", 0, kNow));
  ASSERT_EQ(table.OnWorkerLost(a, 1, 3, kNow), InvocationTable::LossAction::kRequeue);
  ASSERT_TRUE(table.StartAttempt(a, Worker("w2"), "fifo", "round-robin", 0, kNow));
  v1::InvocationResult out = Ok(a, 2);
  out.set_stdout("hello");
  ASSERT_TRUE(table.Complete(a, 2, out, kNow));
  const std::string b = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  ASSERT_TRUE(table.Reject(b, v1::OUTCOME_CANCELLED, "x", kNow));  // `a` leaves (results: 1)
  const std::string c = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  table.Discard(c);
  EXPECT_EQ(journal.events, (std::vector<std::string>{
                                absl::StrCat("dispatched ", a, " to 'w1' #1"),
                                absl::StrCat("dispatched ", a, " to '' #1"),
                                absl::StrCat("dispatched ", a, " to 'w2' #2"),
                                absl::StrCat("finished ", a, " INVOCATION_STATE_DONE 'hello'"),
                                absl::StrCat("forgot ", a),
                                absl::StrCat("finished ", b, " INVOCATION_STATE_DONE ''"),
                                absl::StrCat("forgot ", c)}));
}

// A result larger than the retention's byte budget is forgotten as soon as it
// is kept: the journal still hears it finished first, then forgotten, so
// nothing of it stays on disk.
TEST(InvocationTableTest, TheJournalHearsAResultFinishedBeforeItIsForgotten) {
  InvocationTable table({.results = 10, .bytes = 64});
  RecordingJournal journal;
  table.set_journal(&journal);
  const std::string a = *table.Create(Spec(), v1::InvokeRequest(), absl::Seconds(5), kNow, {});
  ASSERT_TRUE(table.StartAttempt(a, Worker("w1"), "fifo", "round-robin", 0, kNow));
  v1::InvocationResult out = Ok(a, 1);
  out.set_stdout(std::string(100, 'x'));
  ASSERT_TRUE(table.Complete(a, 1, out, kNow));
  EXPECT_EQ(table.Get(a).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(journal.events,
            (std::vector<std::string>{absl::StrCat("dispatched ", a, " to 'w1' #1"),
                                      absl::StrCat("finished ", a, " INVOCATION_STATE_DONE '",
                                                   std::string(100, 'x'), "'"),
                                      absl::StrCat("forgot ", a)}));
}

// After a restart: one that was running is RUNNING on its worker under its
// attempt (a result for that attempt completes it); finished ones answer Get
// again, within the retention bounds, their age counted from when they finished.
TEST(InvocationTableTest, RestoredInvocationsResumeWhereTheJournalLeftThem) {
  InvocationTable table({.results = 10, .age = absl::Hours(1)});
  // Finished ones first, as MasterCore::Recover does: they are the oldest.
  for (const auto& [id, finished_ago] :
       {std::pair<const char*, absl::Duration>{"inv-old", absl::Hours(2)},
        {"inv-recent", absl::Minutes(5)}}) {
    v1::Invocation kept;
    kept.set_id(id);
    kept.set_function("f");
    kept.set_state(v1::INVOCATION_STATE_DONE);
    kept.mutable_result()->set_outcome(v1::OUTCOME_OK);
    kept.mutable_result()->set_stdout("from before");
    ToProto(kNow - finished_ago - absl::Seconds(1),
            kept.mutable_result()->mutable_timings()->mutable_submitted());
    ToProto(absl::Seconds(1), kept.mutable_result()->mutable_timings()->mutable_total());
    table.RestoreFinished(kept);
  }
  EXPECT_EQ(table.ExpireResults(kNow), 1u);  // finished 2 h ago: past the age
  v1::AcceptedInvocation running;
  running.set_id("inv-running");
  *running.mutable_spec() = Spec();
  running.set_worker_id("w1");
  running.set_attempts(2);
  ToProto(kNow - absl::Seconds(3), running.mutable_submitted());
  ToProto(kNow - absl::Seconds(1), running.mutable_dispatched());
  ASSERT_TRUE(table.Restore(running).ok());
  EXPECT_EQ(table.Restore(running).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(table.RunningOn("inv-running"), "w1");
  EXPECT_EQ(table.running(), 1u);
  EXPECT_FALSE(table.Complete("inv-running", 1, Ok("inv-running", 1), kNow));
  ASSERT_TRUE(table.Complete("inv-running", 2, Ok("inv-running", 2), kNow));
  const v1::Invocation done = *table.Get("inv-running");
  EXPECT_EQ(done.result().attempts(), 2u);
  EXPECT_EQ(FromProto(done.result().timings().queue_wait()), absl::Seconds(2));

  EXPECT_EQ(table.Get("inv-old").status().code(), absl::StatusCode::kNotFound);
  const v1::Invocation recent = *table.Get("inv-recent");
  EXPECT_EQ(recent.state(), v1::INVOCATION_STATE_DONE);
  EXPECT_EQ(recent.function(), "f");
  EXPECT_EQ(recent.result().stdout(), "from before");
}

}  // namespace
}  // namespace fsched::master
