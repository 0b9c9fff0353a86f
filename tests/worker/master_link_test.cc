// The worker's link against a fake master served on loopback (the test's own
// WorkerLink service) and a fake worker behind it (MasterLinkCallbacks): the
// join carries the token, capacity and labels; heartbeats carry the worker's
// load; commands reach the callbacks; an assignment runs on a real executor
// and its result comes back; a dropped stream is redialled with the running
// calls listed; a refused token stops the link and tells the worker once.
#include "worker/master_link.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/proto_time.h"
#include "common/server.h"
#include "worker/process_runtime.h"

namespace fsched::worker {
namespace {

using ::testing::ElementsAre;

constexpr char kToken[] = "the-token";

// Every session: reads the Register, refuses a wrong token, welcomes with a
// 50 ms heartbeat, then writes what the test queues and records what the
// worker sends until the stream ends or the test drops it.
class FakeMaster : public v1::WorkerLink::Service {
 public:
  grpc::Status Connect(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::MasterMessage, v1::WorkerMessage>* stream) override {
    v1::WorkerMessage first;
    if (!stream->Read(&first) || !first.has_register_()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "register first");
    }
    {
      absl::MutexLock lock(&mu_);
      registers_.push_back(first.register_());
      drop_ = false;
      // Registered, not yet welcomed: the worker keeps its results meanwhile.
      mu_.Await(absl::Condition(
          +[](FakeMaster* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) { return !self->hold_welcome_; },
          this));
    }
    if (first.register_().join_token() != kToken) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong join token");
    }
    v1::MasterMessage welcome;
    welcome.mutable_welcome()->set_worker_id(first.register_().worker_id());
    {
      absl::MutexLock lock(&mu_);
      for (const std::string& id : awaiting_) welcome.mutable_welcome()->add_awaiting(id);
    }
    ToProto(absl::Milliseconds(50), welcome.mutable_welcome()->mutable_heartbeat_interval());
    stream->Write(welcome);
    std::thread reader([&] {
      v1::WorkerMessage m;
      while (stream->Read(&m)) {
        absl::MutexLock lock(&mu_);
        if (m.has_heartbeat()) heartbeats_.push_back(m.heartbeat());
        if (m.has_result()) results_.push_back(m.result());
      }
      absl::MutexLock lock(&mu_);
      drop_ = true;  // the worker ended the stream
    });
    while (true) {
      std::deque<v1::MasterMessage> out;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](FakeMaster* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                                   return self->drop_ || !self->outbox_.empty();
                                 },
                                 this),
                             absl::Milliseconds(20));
        if (drop_ || ctx->IsCancelled()) break;
        out.swap(outbox_);
      }
      for (const v1::MasterMessage& m : out) stream->Write(m);
    }
    ctx->TryCancel();
    reader.join();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the master dropped the stream");
  }

  void Send(v1::MasterMessage m) {
    absl::MutexLock lock(&mu_);
    outbox_.push_back(std::move(m));
  }
  void Drop() {
    absl::MutexLock lock(&mu_);
    drop_ = true;
  }
  template <typename T>
  bool WaitFor(T predicate) {
    for (int i = 0; i < 1000; ++i) {
      {
        absl::MutexLock lock(&mu_);
        if (predicate(*this)) return true;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  absl::Mutex mu_;
  std::vector<std::string> awaiting_ ABSL_GUARDED_BY(mu_);  // put in every welcome
  bool hold_welcome_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<v1::Register> registers_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Heartbeat> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::InvocationResult> results_ ABSL_GUARDED_BY(mu_);

 private:
  std::deque<v1::MasterMessage> outbox_ ABSL_GUARDED_BY(mu_);
  bool drop_ ABSL_GUARDED_BY(mu_) = false;
};

class FakeWorker : public MasterLinkCallbacks {
 public:
  v1::WorkerCapacity Capacity() override {
    v1::WorkerCapacity c;
    c.set_slots(3);
    return c;
  }
  v1::WorkerLoad Load() override {
    v1::WorkerLoad load;
    load.set_cpu_percent(42);
    return load;
  }
  void OnPrewarm(const v1::Prewarm& prewarm) override {
    absl::MutexLock lock(&mu);
    prewarmed.push_back(prewarm.function().name());
  }
  void OnEvict(const v1::Evict& evict) override {
    absl::MutexLock lock(&mu);
    evicted.push_back(evict.function());
  }
  void OnMembership(const v1::Membership& membership) override {
    absl::MutexLock lock(&mu);
    memberships.push_back(membership.peers_size());
  }
  void OnTokens(const v1::TokenDirectory& directory) override {
    absl::MutexLock lock(&mu);
    tokens.push_back(directory.tokens_size());
  }
  void OnRefused(const absl::Status& status) override {
    absl::MutexLock lock(&mu);
    refusals.push_back(status);
  }

  absl::Mutex mu;
  std::vector<std::string> prewarmed ABSL_GUARDED_BY(mu);
  std::vector<std::string> evicted ABSL_GUARDED_BY(mu);
  std::vector<int> memberships ABSL_GUARDED_BY(mu);
  std::vector<int> tokens ABSL_GUARDED_BY(mu);
  std::vector<absl::Status> refusals ABSL_GUARDED_BY(mu);
};

class MasterLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = StartServer("127.0.0.1:0", {&master_}, 64 << 20);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = "127.0.0.1:" + std::to_string(server_.port);
  }
  void TearDown() override {
    if (link_) link_->Join();
    server_.server->Shutdown(absl::ToChronoTime(absl::Now()));
  }
  void StartLink(const std::string& token, uint64_t max_buffered_bytes = uint64_t{64} << 20) {
    MasterLink::Options options;
    options.max_buffered_bytes = max_buffered_bytes;
    options.zone = "a";
    options.labels = {{"rack", "r1"}};
    options.reconnect_min = absl::Milliseconds(20);
    options.reconnect_max = absl::Milliseconds(100);
    link_ = std::make_unique<MasterLink>(options, &executor_, &worker_);
    ASSERT_TRUE(link_->SetMaster(address_, token).ok());
    link_->Start("w1", "127.0.0.1:9");
  }

  FakeMaster master_;
  FakeWorker worker_;
  ProcessRuntime runtime_;
  Executor executor_{
      Executor::Options{.slots = 3},
      {{v1::RUNTIME_KIND_UNSPECIFIED, &runtime_}, {v1::RUNTIME_KIND_PROCESS, &runtime_}}};
  RunningServer server_;
  std::string address_;
  std::unique_ptr<MasterLink> link_;
};

TEST_F(MasterLinkTest, JoinsThenHeartbeatsWithTheWorkersLoadAndDeliversCommands) {
  StartLink(kToken);
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return m.heartbeats_.size() >= 2; }));
  {
    absl::MutexLock lock(&master_.mu_);
    const v1::Register& r = master_.registers_.at(0);
    EXPECT_EQ(r.worker_id(), "w1");
    EXPECT_EQ(r.join_token(), kToken);
    EXPECT_EQ(r.address(), "127.0.0.1:9");
    EXPECT_EQ(r.zone(), "a");
    EXPECT_EQ(r.labels().at("rack"), "r1");
    EXPECT_EQ(r.capacity().slots(), 3u);
    EXPECT_EQ(master_.heartbeats_[0].load().cpu_percent(), 42);
  }
  EXPECT_TRUE(link_->connected());

  v1::MasterMessage m;
  m.mutable_prewarm()->mutable_function()->set_name("warm-me");
  master_.Send(m);
  m.Clear();
  m.mutable_evict()->set_function("gone");
  master_.Send(m);
  m.Clear();
  m.mutable_membership()->add_peers()->set_worker_id("w2");
  master_.Send(m);
  for (int i = 0; i < 500; ++i) {
    {
      absl::MutexLock lock(&worker_.mu);
      if (!worker_.memberships.empty()) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::MutexLock lock(&worker_.mu);
  EXPECT_THAT(worker_.prewarmed, ElementsAre("warm-me"));
  EXPECT_THAT(worker_.evicted, ElementsAre("gone"));
  EXPECT_THAT(worker_.memberships, ElementsAre(1));
  EXPECT_TRUE(worker_.refusals.empty());
}

TEST_F(MasterLinkTest, AnAssignmentRunsAndItsResultComesBackAcrossAReconnect) {
  StartLink(kToken);
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return !m.heartbeats_.empty(); }));
  v1::MasterMessage m;
  v1::Assignment* a = m.mutable_assignment();
  a->set_invocation_id("inv-1");
  a->mutable_function()->set_name("fn");
  for (const char* arg : {"sh", "-c", "sleep 1; echo ran"}) a->mutable_function()->add_command(arg);
  ToProto(absl::Seconds(10), a->mutable_timeout());
  master_.Send(m);
  // Dropped while the call runs: the worker redials, lists it as running,
  // and the result still arrives.
  ASSERT_TRUE(master_.WaitFor([this](FakeMaster&) { return !executor_.Running().empty(); }));
  master_.Drop();
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return !m.results_.empty(); }));
  absl::MutexLock lock(&master_.mu_);
  ASSERT_GE(master_.registers_.size(), 2u);
  EXPECT_THAT(master_.registers_[1].running(), ElementsAre("inv-1"));
  ASSERT_EQ(master_.registers_[1].held_size(), 1);
  EXPECT_EQ(master_.registers_[1].held(0).invocation_id(), "inv-1");
  EXPECT_EQ(master_.results_[0].invocation_id(), "inv-1");
  EXPECT_EQ(master_.results_[0].outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(master_.results_[0].stdout(), "ran\n");
}

// A result written just before the master died may never have been read or
// recorded: the worker keeps it a while, lists it when it registers again,
// and sends it again when the (restarted) master's welcome says it still
// waits for it. Results the master does not ask for are not sent twice.
TEST_F(MasterLinkTest, AResultTheMasterLostIsSentAgainWhenItAsks) {
  StartLink(kToken);
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return !m.heartbeats_.empty(); }));
  for (const char* id : {"inv-lost", "inv-read"}) {
    v1::MasterMessage m;
    v1::Assignment* a = m.mutable_assignment();
    a->set_invocation_id(id);
    a->set_attempt(3);
    a->mutable_function()->set_name("fn");
    for (const char* arg : {"echo", id}) a->mutable_function()->add_command(arg);
    ToProto(absl::Seconds(10), a->mutable_timeout());
    master_.Send(m);
  }
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return m.results_.size() == 2; }));
  {
    absl::MutexLock lock(&master_.mu_);
    master_.awaiting_ = {"inv-lost", "inv-unknown"};
  }
  master_.Drop();
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return m.results_.size() == 3; }));
  absl::SleepFor(absl::Milliseconds(200));  // nothing more comes
  absl::MutexLock lock(&master_.mu_);
  ASSERT_GE(master_.registers_.size(), 2u);
  std::vector<std::string> held;
  for (const v1::HeldInvocation& h : master_.registers_[1].held()) {
    EXPECT_EQ(h.attempt(), 3u);
    held.push_back(h.invocation_id());
  }
  EXPECT_THAT(held, ::testing::UnorderedElementsAre("inv-lost", "inv-read"));
  ASSERT_EQ(master_.results_.size(), 3u);
  EXPECT_EQ(master_.results_[2].invocation_id(), "inv-lost");
  EXPECT_EQ(master_.results_[2].stdout(), "inv-lost\n");
  EXPECT_EQ(master_.results_[2].attempts(), 3u);
}

// While the master is away, finished results wait within a byte budget; one
// that does not fit is dropped (and no longer listed as held, so the master
// queues it again) instead of growing the worker without bound.
TEST_F(MasterLinkTest, ResultsWaitingForTheMasterStayWithinTheirByteBudget) {
  StartLink(kToken, 1 << 20);
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return !m.heartbeats_.empty(); }));
  for (const char* id : {"inv-1", "inv-2", "inv-3"}) {
    v1::MasterMessage m;
    v1::Assignment* a = m.mutable_assignment();
    a->set_invocation_id(id);
    a->mutable_function()->set_name("fn");
    for (const char* arg : {"sh", "-c", "sleep 0.5; head -c 600000 /dev/zero"}) {
      a->mutable_function()->add_command(arg);
    }
    ToProto(absl::Seconds(10), a->mutable_timeout());
    master_.Send(m);
  }
  ASSERT_TRUE(master_.WaitFor([this](FakeMaster&) { return executor_.Running().size() == 3; }));
  {
    absl::MutexLock lock(&master_.mu_);
    master_.hold_welcome_ = true;
  }
  master_.Drop();
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return m.registers_.size() == 2; }));
  ASSERT_TRUE(master_.WaitFor([this](FakeMaster&) { return executor_.Running().empty(); }));
  {
    absl::MutexLock lock(&master_.mu_);
    master_.hold_welcome_ = false;
  }
  ASSERT_TRUE(master_.WaitFor([](FakeMaster& m) { return !m.results_.empty(); }));
  absl::SleepFor(absl::Milliseconds(300));  // nothing more comes
  absl::MutexLock lock(&master_.mu_);
  ASSERT_EQ(master_.results_.size(), 1u);  // 600 KB fit the 1 MiB; two more would not
  EXPECT_EQ(master_.results_[0].stdout().size(), 600000u);
  EXPECT_EQ(master_.registers_[1].held_size(), 3);  // all three ran when it registered
}

TEST_F(MasterLinkTest, AWrongTokenStopsTheLinkAndTellsTheWorkerOnce) {
  StartLink("not-the-token");
  for (int i = 0; i < 500; ++i) {
    {
      absl::MutexLock lock(&worker_.mu);
      if (!worker_.refusals.empty()) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(300));  // several reconnect intervals: it does not redial
  {
    absl::MutexLock lock(&worker_.mu);
    ASSERT_EQ(worker_.refusals.size(), 1u);
    EXPECT_EQ(worker_.refusals[0].code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(worker_.refusals[0].message()),
                ::testing::HasSubstr("wrong join token"));
  }
  absl::MutexLock lock(&master_.mu_);
  EXPECT_EQ(master_.registers_.size(), 1u);
  EXPECT_FALSE(link_->connected());
}

// A result larger than the master reads is cut to fit, the longer stream
// first, each cut flagged; one that fits is left alone.
TEST(FitResultTest, CutsTheLongerStreamFirstAndFlagsIt) {
  v1::InvocationResult r;
  r.set_invocation_id("inv-1");
  r.set_stdout(std::string(3 << 20, 'o'));
  r.set_stderr(std::string(1000, 'e'));
  const uint64_t limit = 2 << 20;
  FitResult(limit, &r);
  EXPECT_LE(r.ByteSizeLong(), limit - 1024);
  EXPECT_GT(r.ByteSizeLong(), limit - 2048);  // no more than needed
  EXPECT_TRUE(r.stdout_truncated());
  EXPECT_FALSE(r.stderr_truncated());
  EXPECT_EQ(r.stderr().size(), 1000u);

  v1::InvocationResult both;
  both.set_stdout(std::string(600, 'o'));
  both.set_stderr(std::string(3000, 'e'));
  FitResult(2048, &both);
  EXPECT_LE(both.ByteSizeLong(), 1024u);
  EXPECT_TRUE(both.stderr_truncated());
  EXPECT_EQ(both.stdout().size(), 600u);  // stderr alone gave enough

  v1::InvocationResult small;
  small.set_stdout("ok");
  const v1::InvocationResult before = small;
  FitResult(limit, &small);
  FitResult(0, &small);  // no limit
  EXPECT_EQ(small.SerializeAsString(), before.SerializeAsString());
}

}  // namespace
}  // namespace fsched::worker
