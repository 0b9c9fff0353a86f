// The forwarder against fake nodes served on loopback (a worker's Worker
// service and a master's Controller service, answering from the test): which
// service a target's role reaches, what comes back, the emulated delay on
// both legs, unreachable targets, and shutdown with a call in flight.
#include "routing/forwarder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "common/proto_time.h"
#include "common/server.h"

namespace fsched::routing {
namespace {

using ::testing::HasSubstr;

// Answers Invoke with the function name and who answered; "hang" waits until
// the call is cancelled, "refuse" answers RESOURCE_EXHAUSTED.
template <typename Service>
class FakeNode : public Service {
 public:
  explicit FakeNode(std::string who) : who_(std::move(who)) {}
  grpc::Status Invoke(grpc::ServerContext* ctx, const v1::InvokeRequest* request,
                      v1::InvocationResult* result) override {
    {
      absl::MutexLock lock(&mu_);
      received_.push_back(*request);
    }
    if (request->function() == "hang") {
      while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
    if (request->function() == "refuse") {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "queue full");
    }
    if (request->function() == "accept-then-stop") {
      // A master accepts (the id goes out at once), then stops before the result.
      ctx->AddInitialMetadata(kInvocationIdHeader, "inv-7");
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the master is stopping");
    }
    if (request->function() == "busy") ctx->AddTrailingMetadata(kLoadTrailer, "1.000");
    if (request->function() == "garbled") ctx->AddTrailingMetadata(kLoadTrailer, "lots");
    result->set_function(request->function());
    result->set_worker_id(who_);
    result->set_outcome(v1::OUTCOME_OK);
    return grpc::Status::OK;
  }
  std::vector<v1::InvokeRequest> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }

 private:
  const std::string who_;
  absl::Mutex mu_;
  std::vector<v1::InvokeRequest> received_ ABSL_GUARDED_BY(mu_);
};

struct Answer {
  grpc::Status status;
  v1::InvocationResult result;
  std::optional<double> target_load;
};

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = StartServer("127.0.0.1:0", {&worker_, &master_}, 64 << 20);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = "127.0.0.1:" + std::to_string(server_.port);
  }
  void TearDown() override { server_.server->Shutdown(absl::ToChronoTime(absl::Now())); }

  static v1::InvokeRequest Request(const std::string& function) {
    v1::InvokeRequest request;
    request.set_function(function);
    request.add_route("entry");
    return request;
  }
  static Answer ForwardAndWait(Forwarder& forwarder, const NodeRef& target,
                               const std::string& function) {
    absl::Notification answered;
    Answer out;
    forwarder.Forward(target, Request(function), absl::Now() + absl::Seconds(20),
                      [&](const grpc::Status& status, v1::InvocationResult result,
                          std::optional<double> target_load) {
                        out = {status, std::move(result), target_load};
                        answered.Notify();
                      });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return out;
  }
  NodeRef Worker() const { return {"w1", address_, "a", NodeRole::kWorker}; }
  NodeRef Master() const { return {"master", address_, "", NodeRole::kMaster}; }

  FakeNode<v1::Worker::Service> worker_{"worker-service"};
  FakeNode<v1::Controller::Service> master_{"controller-service"};
  RunningServer server_;
  std::string address_;
  TimerQueue timers_;
};

TEST_F(ForwarderTest, AWorkerIsCalledOnItsWorkerServiceAndAMasterOnItsController) {
  Forwarder forwarder(LinkDelays(DefaultConfig<NetworkEmulationConfig>(), Worker()), &timers_);
  Answer a = ForwardAndWait(forwarder, Worker(), "echo");
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.result.worker_id(), "worker-service");
  EXPECT_EQ(a.result.function(), "echo");
  a = ForwardAndWait(forwarder, Master(), "echo");
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.result.worker_id(), "controller-service");
  // The request arrives as sent, its route included.
  ASSERT_EQ(worker_.received().size(), 1u);
  EXPECT_THAT(worker_.received()[0].route(), ::testing::ElementsAre("entry"));
  EXPECT_FALSE(a.target_load.has_value());
  // A target that says how busy it was is heard.
  a = ForwardAndWait(forwarder, Worker(), "busy");
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.target_load, 1.0);
  // One that says it in words it does not mean is not heard, and its answer stands.
  a = ForwardAndWait(forwarder, Worker(), "garbled");
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_FALSE(a.target_load.has_value());
  EXPECT_EQ(a.result.function(), "garbled");
  forwarder.WaitIdle(absl::Seconds(5));
}

TEST_F(ForwarderTest, ErrorsNameTheTargetAndSayWhetherToTryElsewhere) {
  Forwarder forwarder(LinkDelays(DefaultConfig<NetworkEmulationConfig>(), Worker()), &timers_);
  Answer a = ForwardAndWait(forwarder, Worker(), "refuse");
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(a.status.error_message(), HasSubstr("worker w1 (" + address_ + "): queue full"));
  EXPECT_TRUE(TryElsewhere(a.status));
  // Nothing listens on port 1: refused at once, and another target may do.
  a = ForwardAndWait(forwarder, {"gone", "127.0.0.1:1", "a", NodeRole::kWorker}, "echo");
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(TryElsewhere(a.status));
  // An answer about the request itself is final.
  EXPECT_FALSE(TryElsewhere(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such function")));
  EXPECT_FALSE(TryElsewhere(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad")));
  EXPECT_FALSE(TryElsewhere(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late")));
  forwarder.WaitIdle(absl::Seconds(5));
}

// A master that accepted the call before failing has it, durably: the
// answer carries the id and says where to wait for it.
TEST_F(ForwarderTest, AFailureAfterTheTargetAcceptedTheCallCarriesItsId) {
  Forwarder forwarder(LinkDelays(DefaultConfig<NetworkEmulationConfig>(), Worker()), &timers_);
  Answer a = ForwardAndWait(forwarder, Master(), "accept-then-stop");
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(a.result.invocation_id(), "inv-7");
  EXPECT_THAT(a.status.error_message(),
              HasSubstr("it had accepted it as invocation inv-7: wait on it there, fschedctl "
                        "--master " +
                        address_ + " wait inv-7"));
  a = ForwardAndWait(forwarder, Master(), "refuse");
  EXPECT_EQ(a.result.invocation_id(), "") << "refused: never accepted";
  forwarder.WaitIdle(absl::Seconds(5));
}

TEST_F(ForwarderTest, TheEmulatedDelayIsAddedToTheRoundTrip) {
  NetworkEmulationConfig net = DefaultConfig<NetworkEmulationConfig>();
  ToProto(absl::Milliseconds(300), net.mutable_same_zone());
  Forwarder forwarder(LinkDelays(net, Worker()), &timers_);
  const absl::Time start = absl::Now();
  Answer a = ForwardAndWait(forwarder, Worker(), "echo");
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  // Half before sending, half before handing back: at least the whole delay.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  forwarder.WaitIdle(absl::Seconds(5));
}

TEST_F(ForwarderTest, ShutdownAnswersWhatIsInFlightAndRefusesWhatComesAfter) {
  Forwarder forwarder(LinkDelays(DefaultConfig<NetworkEmulationConfig>(), Worker()), &timers_);
  absl::Notification answered;
  grpc::Status status;
  forwarder.Forward(Worker(), Request("hang"), absl::Now() + absl::Seconds(30),
                    [&](const grpc::Status& s, v1::InvocationResult, std::optional<double>) {
                      status = s;
                      answered.Notify();
                    });
  while (worker_.received().empty()) absl::SleepFor(absl::Milliseconds(5));
  forwarder.Shutdown();
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  Answer after = ForwardAndWait(forwarder, Worker(), "echo");
  EXPECT_EQ(after.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(after.status.error_message(), HasSubstr("shutting down"));
  forwarder.WaitIdle(absl::Seconds(5));
}

}  // namespace
}  // namespace fsched::routing
