#include "master/controller.h"

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "common/proto_time.h"
#include "master/invocation_journal.h"
#include "tests/master/scheduler_fixture.h"

namespace fsched::master {
namespace {

using ControllerTest = testing::SchedulerFixture;

TEST_F(ControllerTest, BadRequestsAreRejectedAndNothingIsQueued) {
  RegisterFunction("f");
  auto code = [&](v1::InvokeRequest req) { return controller_->Submit(req).status().code(); };
  v1::InvokeRequest req;
  EXPECT_EQ(code(req), absl::StatusCode::kInvalidArgument);  // empty function
  req.set_function("ghost");
  EXPECT_EQ(code(req), absl::StatusCode::kNotFound);
  req.set_function("f");
  req.set_payload(std::string(17, 'x'));  // limit is 16 in the fixture
  EXPECT_EQ(code(req), absl::StatusCode::kInvalidArgument);
  req.clear_payload();
  req.add_args(std::string(5000, 'a'));
  EXPECT_EQ(code(req), absl::StatusCode::kInvalidArgument);
  req.clear_args();
  req.set_input_size(-1);
  EXPECT_EQ(code(req), absl::StatusCode::kInvalidArgument);
  req.set_input_size(0);
  req.set_architecture(static_cast<v1::Architecture>(99));
  EXPECT_EQ(code(req), absl::StatusCode::kInvalidArgument);
  req.set_architecture(v1::ARCHITECTURE_UNSPECIFIED);
  ToProto(absl::Seconds(-1), req.mutable_timeout());
  EXPECT_EQ(code(req), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_->queued(), 0u);
  EXPECT_EQ(controller_->GetInvocation("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(controller_->GetInvocation("inv-nope").status().code(), absl::StatusCode::kNotFound);
  v1::RegisterFunctionRequest empty;
  EXPECT_EQ(controller_->RegisterFunction(empty).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ControllerTest, APersistentFunctionTakesAPayloadNotArgs) {
  v1::RegisterFunctionRequest reg;
  reg.mutable_spec()->set_name("py");
  reg.mutable_spec()->set_language("python");
  reg.mutable_spec()->set_handler("main:handle");
  ASSERT_TRUE(controller_->RegisterFunction(reg).ok());
  v1::InvokeRequest req;
  req.set_function("py");
  req.add_args("--verbose");
  const absl::Status refused = controller_->Submit(req).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("a payload, not args"), std::string::npos) << refused;
  EXPECT_EQ(scheduler_->queued(), 0u);
  req.clear_args();
  EXPECT_TRUE(controller_->Submit(req).ok());
}

// A journal that answers acceptances when the test says, and how.
class HeldJournal : public InvocationJournal {
 public:
  void Accept(const v1::AcceptedInvocation& invocation,
              std::function<void(absl::Status)> recorded) override {
    ids.push_back(invocation.id());
    waiting.push_back(std::move(recorded));
  }
  void Dispatched(const std::string&, const std::string&, uint32_t, absl::Time) override {}
  void Finished(v1::Invocation) override {}
  void Forgotten(std::vector<std::string>) override {}
  void Answer(const absl::Status& status) {
    for (auto& recorded : std::exchange(waiting, {})) recorded(status);
  }
  std::vector<std::string> ids;
  std::vector<std::function<void(absl::Status)>> waiting;
};

// An RPC handler does not wait for the journal: SubmitAsync returns at once,
// and the invocation is queued, dispatched and its id told only once it is
// recorded; a write that fails refuses it and leaves nothing behind.
TEST_F(ControllerTest, AnAcceptanceIsAnsweredWhenTheJournalHasRecordedIt) {
  RegisterFunction("f");
  Join("w1", 2);
  HeldJournal journal;
  controller_->set_journal(&journal);
  v1::InvokeRequest req;
  req.set_function("f");
  std::vector<absl::StatusOr<std::string>> answers;
  const auto submit = [&] {
    controller_->SubmitAsync(
        req, nullptr, [&](absl::StatusOr<std::string> id) { answers.push_back(std::move(id)); });
  };
  submit();
  ASSERT_EQ(journal.ids.size(), 1u);
  EXPECT_TRUE(answers.empty());
  EXPECT_TRUE(streams_["w1"]->Assignments().empty());  // not runnable before it is recorded
  journal.Answer(absl::OkStatus());
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_TRUE(answers[0].ok()) << answers[0].status();
  EXPECT_EQ(*answers[0], journal.ids[0]);
  ASSERT_EQ(streams_["w1"]->Assignments().size(), 1u);

  submit();
  ASSERT_EQ(journal.ids.size(), 2u);
  journal.Answer(absl::UnavailableError("disk full"));
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(controller_->GetInvocation(journal.ids[1]).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(streams_["w1"]->Assignments().size(), 1u);
  EXPECT_EQ(scheduler_->queued(), 0u);
}

TEST_F(ControllerTest, TimeoutIsTheShorterOfFunctionAndRequest) {
  v1::RegisterFunctionRequest reg;
  reg.mutable_spec()->set_name("g");
  reg.mutable_spec()->add_command("true");
  ToProto(absl::Seconds(20), reg.mutable_spec()->mutable_limits()->mutable_timeout());
  ASSERT_TRUE(controller_->RegisterFunction(reg).ok());
  Join("w1", 2);
  v1::InvokeRequest req;
  req.set_function("g");
  ASSERT_TRUE(controller_->Submit(req).ok());
  ToProto(absl::Seconds(5), req.mutable_timeout());
  ASSERT_TRUE(controller_->Submit(req).ok());
  auto sent = streams_["w1"]->Assignments();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(FromProto(sent[0].timeout()), absl::Seconds(20));
  EXPECT_EQ(FromProto(sent[1].timeout()), absl::Seconds(5));
}

TEST_F(ControllerTest, WaitAnswersOnCompletionOrTimeout) {
  RegisterFunction("f");
  Join("w1", 1);
  const std::string id = Submit("f");
  absl::Notification timed_out;
  v1::Invocation seen;
  ASSERT_TRUE(controller_
                  ->WaitInvocation(id, absl::Milliseconds(50),
                                   [&](const v1::Invocation& inv) {
                                     seen = inv;
                                     timed_out.Notify();
                                   })
                  .ok());
  ASSERT_TRUE(timed_out.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(seen.state(), v1::INVOCATION_STATE_RUNNING);

  absl::Notification finished;
  ASSERT_TRUE(controller_
                  ->WaitInvocation(id, absl::Seconds(30),
                                   [&](const v1::Invocation& inv) {
                                     seen = inv;
                                     finished.Notify();
                                   })
                  .ok());
  Finish("w1", streams_["w1"]->Assignments()[0]);
  ASSERT_TRUE(finished.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(seen.state(), v1::INVOCATION_STATE_DONE);
  EXPECT_EQ(
      controller_->WaitInvocation("inv-x", absl::Seconds(1), [](const v1::Invocation&) {}).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(controller_->WaitInvocation(id, absl::Hours(1), [](const v1::Invocation&) {}).code(),
            absl::StatusCode::kInvalidArgument);
}

// Stopping the master releases every caller still waiting (a gRPC server
// cannot finish shutting down while one waits) and accepts nothing new; what
// had finished stays readable.
TEST_F(ControllerTest, ClosingReleasesWaitersAndRefusesNewInvocations) {
  RegisterFunction("f");
  Join("w1", 1);
  const std::string done_id = Submit("f");
  Finish("w1", streams_["w1"]->Assignments()[0]);
  const std::string running_id = Submit("f");  // takes the only slot
  std::vector<v1::Invocation> released;
  v1::InvokeRequest req;
  req.set_function("f");
  auto queued =
      controller_->Submit(req, [&](const v1::Invocation& inv) { released.push_back(inv); });
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(controller_
                  ->WaitInvocation(running_id, absl::Minutes(10),
                                   [&](const v1::Invocation& inv) { released.push_back(inv); })
                  .ok());
  table_->Close();
  ASSERT_EQ(released.size(), 2u);
  for (const v1::Invocation& inv : released) {
    EXPECT_NE(inv.state(), v1::INVOCATION_STATE_DONE) << inv.id();
  }
  EXPECT_EQ(released[0].id() == *queued ? released[0].state() : released[1].state(),
            v1::INVOCATION_STATE_QUEUED);
  const auto refused = controller_->Submit(req);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("shutting down"), std::string::npos);
  // A wait after closing answers at once with the invocation as it stands.
  bool answered = false;
  ASSERT_TRUE(controller_
                  ->WaitInvocation(*queued, absl::Minutes(10),
                                   [&](const v1::Invocation&) { answered = true; })
                  .ok());
  EXPECT_TRUE(answered);
  EXPECT_EQ(controller_->GetInvocation(done_id)->state(), v1::INVOCATION_STATE_DONE);
}

}  // namespace
}  // namespace fsched::master
