#include "master/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/proto_time.h"
#include "tests/master/scheduler_fixture.h"

namespace fsched::master {
namespace {

using SchedulerTest = testing::SchedulerFixture;

TEST_F(SchedulerTest, BindsLateOnlyToFreeSlotsInArrivalOrder) {
  RegisterFunction("f");
  Join("w1", 1);
  const std::string a = Submit("f");
  const std::string b = Submit("f");
  const std::string c = Submit("f");
  auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 1u);  // one slot: one assignment, the rest wait at the master
  EXPECT_EQ(sent[0].invocation_id(), a);
  EXPECT_EQ(scheduler_->queued(), 2u);
  EXPECT_EQ(table_->Get(b)->state(), v1::INVOCATION_STATE_QUEUED);

  clock_.Advance(absl::Milliseconds(250));
  Finish("w1", sent[0]);
  sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].invocation_id(), b);
  EXPECT_NEAR(ToSeconds(sent[1].queue_wait()), 0.25, 1e-9);
  auto done = Done(a);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->result().outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(done->result().worker_id(), "w1");
  EXPECT_EQ(done->result().queue_order(), "fifo");
  EXPECT_EQ(done->result().placement_policy(), "round-robin");
  EXPECT_NEAR(ToSeconds(done->result().timings().total()), 0.25, 1e-9);
  (void)c;
}

TEST_F(SchedulerTest, QueuedWorkWaitsForAWorkerToJoin) {
  RegisterFunction("f");
  const std::string a = Submit("f");
  EXPECT_EQ(scheduler_->queued(), 1u);
  Join("w1", 2);
  ASSERT_EQ(streams_["w1"]->Assignments().size(), 1u);
  EXPECT_EQ(scheduler_->queued(), 0u);
  EXPECT_EQ(table_->Get(a)->worker_id(), "w1");
}

TEST_F(SchedulerTest, LostWorkerWorkIsRequeuedThenGivenUp) {
  RegisterFunction("f");
  Join("w1", 1);
  const std::string a = Submit("f");
  clock_.Advance(absl::Seconds(4));
  scheduler_->OnLost(cluster_->Tick());  // w1 silent: dead, a re-queued
  EXPECT_EQ(table_->Get(a)->state(), v1::INVOCATION_STATE_QUEUED);
  Join("w2", 1);
  auto sent = streams_["w2"]->Assignments();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attempt(), 2u);
  // A late result from the dead worker's first attempt changes nothing.
  v1::Assignment stale = sent[0];
  stale.set_attempt(1);
  Finish("w1", stale);
  EXPECT_FALSE(Done(a).has_value());
  // Losing the second attempt exhausts max_attempts (2).
  clock_.Advance(absl::Seconds(4));
  scheduler_->OnLost(cluster_->Tick());
  auto done = Done(a);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->result().outcome(), v1::OUTCOME_REJECTED);
  EXPECT_NE(done->result().message().find("lost"), std::string::npos);
}

// An invocation pinned to a busy worker waits at the head of the queue; work
// behind it that another worker can take is not held up, and the pinned one
// still goes first once its worker has room.
TEST_F(SchedulerTest, AHeadThatMustWaitDoesNotStallWorkBehindIt) {
  RegisterFunction("f");
  Join("w1", 1);
  const std::string first = Submit("f", "w1");
  const std::string pinned = Submit("f", "w1");  // w1 is busy: waits
  Join("w2", 1);
  const std::string free = Submit("f");
  auto to_w2 = streams_["w2"]->Assignments();
  ASSERT_EQ(to_w2.size(), 1u);
  EXPECT_EQ(to_w2[0].invocation_id(), free);
  EXPECT_EQ(table_->Get(pinned)->state(), v1::INVOCATION_STATE_QUEUED);
  const std::string later = Submit("f");  // queued behind the pinned one; w2 is busy now
  auto to_w1 = streams_["w1"]->Assignments();
  ASSERT_EQ(to_w1.size(), 1u);
  Finish("w1", to_w1[0]);
  to_w1 = streams_["w1"]->Assignments();
  ASSERT_EQ(to_w1.size(), 2u);
  EXPECT_EQ(to_w1[1].invocation_id(), pinned);  // ahead of `later`
  EXPECT_EQ(table_->Get(later)->state(), v1::INVOCATION_STATE_QUEUED);
  (void)first;
}

TEST_F(SchedulerTest, WorkerRefusalIsRequeuedElsewhere) {
  RegisterFunction("f");
  Join("w1", 1);
  Join("w2", 1);
  const std::string a = Submit("f");
  auto first = streams_["w1"]->Assignments();
  ASSERT_EQ(first.size(), 1u);
  Finish("w1", first[0], v1::OUTCOME_REJECTED);  // "all slots busy" on the worker
  EXPECT_FALSE(Done(a).has_value());
  auto second = streams_["w2"]->Assignments();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].invocation_id(), a);
  EXPECT_EQ(second[0].attempt(), 2u);
  Finish("w2", second[0]);
  ASSERT_TRUE(Done(a).has_value());
  EXPECT_EQ(Done(a)->result().outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(Done(a)->result().attempts(), 2u);
}

TEST_F(SchedulerTest, QueueTimeoutRejectsWithAReason) {
  RegisterFunction("f");
  const std::string a = Submit("f");
  clock_.Advance(absl::Seconds(9));
  scheduler_->ExpireQueued();
  EXPECT_FALSE(Done(a).has_value());
  clock_.Advance(absl::Seconds(2));
  scheduler_->ExpireQueued();
  auto done = Done(a);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->result().outcome(), v1::OUTCOME_REJECTED);
  EXPECT_NE(done->result().message().find("queue_timeout"), std::string::npos);
  EXPECT_EQ(scheduler_->queued(), 0u);
}

TEST_F(SchedulerTest, InfeasibleWorkIsParkedWithoutBlockingOthers) {
  RegisterFunction("boxed", v1::RUNTIME_KIND_RUNC);
  RegisterFunction("plain");
  Join("w1", 2);
  const std::string boxed = Submit("boxed");
  const std::string plain = Submit("plain");
  auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].invocation_id(), plain);
  EXPECT_EQ(table_->Get(boxed)->state(), v1::INVOCATION_STATE_QUEUED);
  // A worker that offers runc arrives: the parked invocation runs there.
  auto stream = std::make_shared<testing::FakeWorkerStream>();
  v1::Register reg = testing::MakeRegister("runc-worker", 1);
  reg.mutable_capacity()->add_runtimes(v1::RUNTIME_KIND_RUNC);
  v1::Welcome welcome;
  ASSERT_TRUE(cluster_->Register(reg, stream, &welcome).ok());
  scheduler_->OnWorkerJoined();
  ASSERT_EQ(stream->Assignments().size(), 1u);
  EXPECT_EQ(stream->Assignments()[0].invocation_id(), boxed);
}

TEST_F(SchedulerTest, CancelQueuedAndRunning) {
  RegisterFunction("f");
  Join("w1", 1);
  const std::string running = Submit("f");
  const std::string queued = Submit("f");
  auto cancelled = scheduler_->Cancel(queued);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->result().outcome(), v1::OUTCOME_CANCELLED);
  ASSERT_TRUE(scheduler_->Cancel(running).ok());
  auto sent = streams_["w1"]->Sent();
  ASSERT_TRUE(sent.back().has_cancel());
  EXPECT_EQ(sent.back().cancel().invocation_id(), running);
}

TEST_F(SchedulerTest, FullQueueIsResourceExhaustedAndLosesNothing) {
  RegisterFunction("f");
  std::vector<std::string> accepted;
  for (int i = 0; i < 5; ++i) accepted.push_back(Submit("f"));
  v1::InvokeRequest req;
  req.set_function("f");
  auto refused = controller_->Submit(req);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  Join("w1", 5);
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 5u);
  for (const auto& id : accepted) EXPECT_EQ(table_->Get(id)->state(), v1::INVOCATION_STATE_RUNNING);
}

TEST_F(SchedulerTest, SetPolicyKeepsQueuedWorkAndRejectsUnknownNames) {
  RegisterFunction("f");
  Submit("f");
  Submit("f");
  EXPECT_EQ(scheduler_->SetPolicy("lottery", "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_->SetPolicy("", "dartboard").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(scheduler_->SetPolicy("fifo", "round-robin").ok());
  EXPECT_EQ(scheduler_->queued(), 2u);
  Join("w1", 2);
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 2u);
}

}  // namespace
}  // namespace fsched::master

namespace fsched::master {
namespace {

class RestartTest : public testing::SchedulerFixture {
 protected:
  bool Durable() override { return true; }
  // a runs on w1, b on w2, c and d queued; then the master restarts.
  void RunTwoQueueTwoAndRestart() {
    RegisterFunction("f");
    Join("w1", 1);
    Join("w2", 1);
    a_ = Submit("f");
    b_ = Submit("f");
    c_ = Submit("f");
    d_ = Submit("f");
    ASSERT_EQ(streams_["w1"]->Assignments().size(), 1u);
    ASSERT_EQ(streams_["w2"]->Assignments().size(), 1u);
    Restart();
    ASSERT_EQ(table_->Get(c_)->state(), v1::INVOCATION_STATE_QUEUED);
    ASSERT_EQ(cluster_->returning_workers(), 2u);
  }
  std::string a_, b_, c_, d_;
};

// w2 had been given c in the moment before the stop, and that dispatch never
// reached the journal: c is queued again after the restart. The queue waits
// for the workers that were running something, so w2 keeps c (no second
// run on w1, which is back first with room), and d goes once both are back.
TEST_F(RestartTest, QueuedWorkWaitsForReturningWorkersWhichKeepWhatTheyHold) {
  RunTwoQueueTwoAndRestart();
  Join("w1", 3, {{a_, 1}});
  EXPECT_TRUE(streams_["w1"]->Assignments().empty()) << "w2 is not back yet";
  EXPECT_EQ(scheduler_->queued(), 2u);

  v1::Welcome welcome;
  Join("w2", 1, {{b_, 1}, {c_, 1}}, &welcome);
  EXPECT_THAT(welcome.awaiting(), ::testing::UnorderedElementsAre(b_, c_));
  const v1::Invocation c = *table_->Get(c_);
  EXPECT_EQ(c.state(), v1::INVOCATION_STATE_RUNNING);
  EXPECT_EQ(c.worker_id(), "w2");
  EXPECT_EQ(cluster_->recovered_flights().adopted, 1u);
  EXPECT_TRUE(streams_["w2"]->Assignments().empty());
  // Both are back: d is queued and placed where there is room.
  auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].invocation_id(), d_);
  EXPECT_EQ(sent[0].attempt(), 1u);
  EXPECT_EQ(scheduler_->queued(), 0u);

  // c's result from w2 is its result; w2's slot is free again.
  v1::Assignment ran;
  ran.set_invocation_id(c_);
  ran.set_attempt(1);
  ran.mutable_function()->set_name("f");
  Finish("w2", ran);
  EXPECT_EQ(table_->Get(c_)->state(), v1::INVOCATION_STATE_DONE);
  EXPECT_EQ(table_->Get(c_)->result().outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(table_->Get(c_)->result().attempts(), 1u);
}

// A worker that does not come back holds the queue up for cluster.restore_hold
// (2 s) at most; a worker holding an attempt that is not the next one does not
// get it.
TEST_F(RestartTest, TheHoldEndsAfterRestoreHoldAndOnlyTheNextAttemptIsAdopted) {
  RunTwoQueueTwoAndRestart();
  Join("w1", 3, {{a_, 1}, {c_, 2}});
  EXPECT_EQ(table_->Get(c_)->state(), v1::INVOCATION_STATE_QUEUED);
  EXPECT_EQ(cluster_->recovered_flights().adopted, 0u);
  clock_.Advance(absl::Milliseconds(1900));
  scheduler_->ExpireQueued();
  EXPECT_TRUE(streams_["w1"]->Assignments().empty());
  clock_.Advance(absl::Milliseconds(200));
  scheduler_->ExpireQueued();
  auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 2u) << "c and d, once the hold is over";
  EXPECT_EQ(sent[0].invocation_id(), c_);
  EXPECT_EQ(sent[1].invocation_id(), d_);
  EXPECT_EQ(cluster_->returning_workers(), 1u) << "w2 is not back, and not yet dead either";
}

TEST_F(RestartTest, CancelReachesInvocationsHeldBack) {
  RunTwoQueueTwoAndRestart();
  absl::StatusOr<v1::Invocation> cancelled = scheduler_->Cancel(d_);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->result().outcome(), v1::OUTCOME_CANCELLED);
  EXPECT_EQ(scheduler_->queued(), 1u);
}

class AgingSrtfSchedulerTest : public testing::SchedulerFixture {
 protected:
  std::string QueueOrderName() override { return "aging-srtf"; }
};

TEST_F(AgingSrtfSchedulerTest, LearnedShortFunctionsOvertakeLongOnes) {
  RegisterFunction("short");
  RegisterFunction("long");
  for (int i = 0; i < 3; ++i) {
    predictor_->Observe("short", 0, 0.05);
    predictor_->Observe("long", 0, 20.0);
  }
  Join("w1", 1);
  const std::string blocker = Submit("long");  // takes the only slot
  const std::string long_job = Submit("long");
  const std::string short_job = Submit("short");
  auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].invocation_id(), blocker);
  EXPECT_NEAR(sent[0].predicted_seconds(), 0.7 * 20.0, 1e-9);
  Finish("w1", sent[0]);
  sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].invocation_id(), short_job);  // arrived later, runs first
  Finish("w1", sent[1]);
  EXPECT_EQ(streams_["w1"]->Assignments()[2].invocation_id(), long_job);
  EXPECT_NEAR(Done(short_job)->result().predicted_seconds(), 0.7 * 0.05, 1e-9);
  EXPECT_EQ(Done(short_job)->result().queue_order(), "aging-srtf");
}

// A re-queued invocation keeps the arrival time it was submitted with: after
// its worker died it goes ahead of work that arrived after it.
TEST_F(AgingSrtfSchedulerTest, ARequeuedInvocationKeepsItsArrival) {
  RegisterFunction("f");
  Join("w1", 1);
  const std::string early = Submit("f");  // runs on w1
  clock_.Advance(absl::Seconds(1));
  const std::string late = Submit("f");  // waits
  clock_.Advance(absl::Seconds(4));
  scheduler_->OnLost(cluster_->Tick());  // w1 silent: dead, `early` re-queued
  ASSERT_EQ(table_->Get(early)->state(), v1::INVOCATION_STATE_QUEUED);
  Join("w2", 1);
  const auto sent = streams_["w2"]->Assignments();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].invocation_id(), early);
  EXPECT_EQ(sent[0].attempt(), 2u);
  EXPECT_EQ(table_->Get(late)->state(), v1::INVOCATION_STATE_QUEUED);
}

class FifoRelativeGuardTest : public testing::SchedulerFixture {
 protected:
  std::string QueueOrderName() override { return "aging-srtf"; }
  scheduling::QueueOrderOptions OrderOptions() override {
    return {.aging_rate = 0,
            .max_wait = absl::Minutes(10),
            .fifo_wait_factor = 1,
            .min_wait = absl::Seconds(1)};
  }
};

// The guard's estimate of FIFO's wait divides the expected work queued by every
// slot of the cluster (4 here), also when only one worker has room.
TEST_F(FifoRelativeGuardTest, WeighsTheBacklogAgainstTheWholeClustersSlots) {
  RegisterFunction("long");
  RegisterFunction("short");
  for (int i = 0; i < 3; ++i) {
    predictor_->Observe("long", 0, 40.0);  // expected 40 s, ordered by 0.7 · 40
    predictor_->Observe("short", 0, 1.0);
  }
  Join("w1", 1);
  Join("w2", 3);
  for (int i = 0; i < 4; ++i) Submit("long");  // every slot busy
  const std::string a = Submit("long");        // nothing queued: due after 1 s
  const std::string b = Submit("long");        // 40 s queued / 4 slots: due after 10 s
  const std::string c = Submit("short");       // 80 s / 4: due after 20 s
  clock_.Advance(absl::Seconds(11));
  Finish("w1", streams_["w1"]->Assignments()[0]);
  Finish("w1", streams_["w1"]->Assignments()[1]);
  const auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1].invocation_id(), a);
  // Overdue, so ahead of the shorter "c". Counting only w2's 3 slots, "b" would
  // be due after 13.3 s and "c" would go first.
  EXPECT_EQ(sent[2].invocation_id(), b);
  EXPECT_EQ(table_->Get(c)->state(), v1::INVOCATION_STATE_QUEUED);
}

TEST_F(AgingSrtfSchedulerTest, ResultsTeachThePredictor) {
  RegisterFunction("f");
  Join("w1", 1);
  Submit("f");
  v1::Assignment a = streams_["w1"]->Assignments()[0];
  v1::InvocationResult r;
  r.set_invocation_id(a.invocation_id());
  r.set_attempts(a.attempt());
  r.set_function("f");
  r.set_outcome(v1::OUTCOME_OK);
  ToProto(absl::Milliseconds(300), r.mutable_timings()->mutable_execution());
  scheduler_->OnResult("w1", r);
  EXPECT_EQ(predictor_->Predict("f", 0).samples, 1u);
  EXPECT_NEAR(predictor_->Predict("f", 0).tsi, 0.3, 1e-9);
  // A timeout is a censored sample: it teaches nothing.
  Submit("f");
  a = streams_["w1"]->Assignments()[1];
  r.set_invocation_id(a.invocation_id());
  r.set_outcome(v1::OUTCOME_TIMEOUT);
  ToProto(absl::Seconds(60), r.mutable_timings()->mutable_execution());
  scheduler_->OnResult("w1", r);
  EXPECT_EQ(predictor_->Predict("f", 0).samples, 1u);
}

}  // namespace
}  // namespace fsched::master

namespace fsched::master {
namespace {

class PreemptionTest : public testing::SchedulerFixture {
 protected:
  std::string QueueOrderName() override { return "aging-srtf"; }
  Scheduler::Options SchedulerOptions() override {
    Scheduler::Options o = SchedulerFixture::SchedulerOptions();
    o.preemption = true;
    o.preempt_gap = absl::Seconds(4);
    return o;
  }
  void SetUp() override {
    SchedulerFixture::SetUp();
    RegisterFunction("short");
    RegisterFunction("long");
    for (int i = 0; i < 3; ++i) {
      predictor_->Observe("short", 0, 0.5);  // tsu 0.35 s
      predictor_->Observe("long", 0, 30.0);  // tsu 21 s
    }
  }
  void JoinFreezable(const std::string& id, uint32_t slots, bool freeze = true) {
    streams_[id] = std::make_shared<testing::FakeWorkerStream>();
    v1::Register reg = testing::MakeRegister(id, slots);
    reg.mutable_capacity()->set_freeze_supported(freeze);
    v1::Welcome welcome;
    ASSERT_TRUE(cluster_->Register(reg, streams_[id], &welcome).ok());
    scheduler_->OnWorkerJoined();
  }
};

TEST_F(PreemptionTest, AMuchShorterJobFreezesTheLongOneAndItResumesAfter) {
  JoinFreezable("w1", 1);
  const std::string long_job = Submit("long");
  clock_.Advance(absl::Seconds(2));  // 19 s of its predicted 21 s left
  const std::string short_job = Submit("short");
  auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].invocation_id(), short_job);
  EXPECT_EQ(sent[1].preempts(), long_job);
  EXPECT_EQ(scheduler_->queued(), 0u);

  // While the preemptor runs the slot is taken: a third job waits, and the
  // frozen job is not frozen again, nor is the preemptor.
  const std::string waiting = Submit("short");
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 2u);
  EXPECT_EQ(scheduler_->queued(), 1u);

  Finish("w1", sent[1]);  // the preemptor ends; the long job resumes in its slot
  EXPECT_TRUE(Done(short_job).has_value());
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 2u) << "the resumed job holds the slot";
  Finish("w1", sent[0]);
  sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].invocation_id(), waiting);
  EXPECT_TRUE(sent[2].preempts().empty());
}

TEST_F(PreemptionTest, NoPreemptionWithinTheGapOrOnWorkersThatCannotFreeze) {
  JoinFreezable("w1", 1);
  Submit("long");
  clock_.Advance(absl::Seconds(18));  // 3 s left: 3 − 0.35 is within the 4 s gap
  Submit("short");
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 1u);
  EXPECT_EQ(scheduler_->queued(), 1u);

  JoinFreezable("w2", 1, /*freeze=*/false);  // takes the queued short job
  ASSERT_EQ(streams_["w2"]->Assignments().size(), 1u);
  Submit("long");  // both workers busy: it queues (w1's job is within the gap)
  EXPECT_EQ(scheduler_->queued(), 1u);
  Finish("w2", streams_["w2"]->Assignments()[0]);  // w2 runs the long job now
  ASSERT_EQ(streams_["w2"]->Assignments().size(), 2u);
  Submit("short");
  // w1's long job is within the gap and w2 cannot freeze: the short job waits.
  EXPECT_EQ(streams_["w2"]->Assignments().size(), 2u);
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 1u);
  EXPECT_EQ(scheduler_->queued(), 1u);
}

TEST_F(PreemptionTest, AssignRefusesToFreezeWhatIsNotRunningThereOrWasFrozen) {
  JoinFreezable("w1", 1);
  const std::string long_job = Submit("long");
  v1::Assignment a;
  a.set_invocation_id("x");
  a.set_attempt(1);
  a.set_preempts("not-running");
  EXPECT_EQ(cluster_->Assign("w1", a).code(), absl::StatusCode::kFailedPrecondition);
  a.set_preempts(long_job);
  EXPECT_TRUE(cluster_->Assign("w1", a).ok());
  a.set_invocation_id("y");
  EXPECT_EQ(cluster_->Assign("w1", a).code(), absl::StatusCode::kFailedPrecondition);
  a.set_preempts("x");  // a preemptor cannot be frozen
  EXPECT_EQ(cluster_->Assign("w1", a).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fsched::master
