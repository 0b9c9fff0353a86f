// The worker's function lookups against a real (fake) master over loopback,
// on a manual clock: one lookup per burst, known specs used without waiting
// while a refresh runs behind them, old ones waited for, and what a caller
// gets when the function is gone or no master answers.
#include "worker/function_source.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/server.h"

namespace fsched::worker {
namespace {

// Answers GetFunction with the function's current description (its spec's
// `description`), or NOT_FOUND once it is deleted; holds answers while closed.
class FakeMaster : public v1::Controller::Service {
 public:
  grpc::Status GetFunction(grpc::ServerContext*, const v1::GetFunctionRequest* request,
                           v1::Function* response) override {
    absl::MutexLock lock(&mu_);
    ++lookups_;
    mu_.Await(absl::Condition(&open_));
    if (deleted_) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("function ", request->name(), " is not registered"));
    }
    response->mutable_spec()->set_name(request->name());
    response->mutable_spec()->set_description(description_);
    return grpc::Status::OK;
  }

  int lookups() {
    absl::MutexLock lock(&mu_);
    return lookups_;
  }
  bool WaitForLookups(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return lookups_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }
  void set_open(bool open) {
    absl::MutexLock lock(&mu_);
    open_ = open;
  }
  void set_description(const std::string& d) {
    absl::MutexLock lock(&mu_);
    description_ = d;
  }
  void set_deleted() {
    absl::MutexLock lock(&mu_);
    deleted_ = true;
  }

 private:
  absl::Mutex mu_;
  int lookups_ ABSL_GUARDED_BY(mu_) = 0;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  bool deleted_ ABSL_GUARDED_BY(mu_) = false;
  std::string description_ ABSL_GUARDED_BY(mu_) = "v1";
};

// One Get's answer, waited for.
class Answer {
 public:
  FunctionSource::Done done() {
    return [this](absl::StatusOr<v1::FunctionSpec> spec) {
      result_ = std::move(spec);
      answered_.Notify();
    };
  }
  bool answered() const { return answered_.HasBeenNotified(); }
  absl::StatusOr<v1::FunctionSpec> Wait() {
    EXPECT_TRUE(answered_.WaitForNotificationWithTimeout(absl::Seconds(10)));
    return result_;
  }

 private:
  absl::Notification answered_;
  absl::StatusOr<v1::FunctionSpec> result_ = absl::UnknownError("no answer");
};

class FunctionSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = StartServer("127.0.0.1:0", {&master_}, 4 << 20);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    address_ = absl::StrCat("127.0.0.1:", server->port);
    ask_at_ = address_;
  }
  void TearDown() override {
    master_.set_open(true);
    source_.reset();
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
  }
  FunctionSource& Source() {
    if (!source_) {
      source_ = std::make_unique<FunctionSource>(
          [this] { return std::vector<std::string>{ask_at_}; }, absl::Seconds(5), &clock_);
    }
    return *source_;
  }
  // The source's first call for "f": it asks the master.
  std::string FirstLookup() {
    Answer first;
    Source().Get("f", first.done());
    return Description(first);
  }
  std::string Description(Answer& answer) {
    absl::StatusOr<v1::FunctionSpec> spec = answer.Wait();
    return spec.ok() ? spec->description() : spec.status().ToString();
  }

  FakeMaster master_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::string ask_at_;  // the master the source asks (Get calls MastersFn on its caller's thread)
  ManualClock clock_{absl::FromUnixSeconds(1000)};
  std::unique_ptr<FunctionSource> source_;
};

TEST_F(FunctionSourceTest, ABurstOfCallsWaitsOnOneLookup) {
  master_.set_open(false);
  Answer a[5];
  for (Answer& answer : a) Source().Get("f", answer.done());
  ASSERT_TRUE(master_.WaitForLookups(1));
  for (Answer& answer : a) EXPECT_FALSE(answer.answered());
  master_.set_open(true);
  for (Answer& answer : a) EXPECT_EQ(Description(answer), "v1");
  EXPECT_EQ(master_.lookups(), 1);

  // Fresh: used as it is.
  clock_.Advance(absl::Seconds(4));
  Answer again;
  Source().Get("f", again.done());
  EXPECT_TRUE(again.answered());  // at once, on this thread
  EXPECT_EQ(Description(again), "v1");
  EXPECT_EQ(master_.lookups(), 1);
}

// Past `fresh_for` a known spec still answers at once while one lookup
// refreshes it; the calls after that lookup see what it brought.
TEST_F(FunctionSourceTest, AnAgeingSpecIsRefreshedBehindTheCallsThatUseIt) {
  ASSERT_EQ(FirstLookup(), "v1");
  master_.set_description("v2");
  master_.set_open(false);
  clock_.Advance(absl::Seconds(6));
  Answer during[3];
  for (Answer& answer : during) {
    Source().Get("f", answer.done());
    EXPECT_TRUE(answer.answered());  // not held up by the refresh
    EXPECT_EQ(Description(answer), "v1");
  }
  ASSERT_TRUE(master_.WaitForLookups(2));
  master_.set_open(true);
  // The refresh lands; the next call sees v2 without another lookup.
  for (int i = 0; i < 100; ++i) {
    Answer after;
    Source().Get("f", after.done());
    if (Description(after) == "v2") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  Answer after;
  Source().Get("f", after.done());
  EXPECT_EQ(Description(after), "v2");
  EXPECT_EQ(master_.lookups(), 2);
}

// Older than twice `fresh_for`, a spec is not used while a master may have a
// newer one: the call waits for the lookup (a worker that saw no call for a while).
TEST_F(FunctionSourceTest, AnOldSpecIsWaitedForNotUsed) {
  ASSERT_EQ(FirstLookup(), "v1");
  master_.set_description("v2");
  master_.set_open(false);
  clock_.Advance(absl::Seconds(11));
  Answer late;
  Source().Get("f", late.done());
  ASSERT_TRUE(master_.WaitForLookups(2));
  EXPECT_FALSE(late.answered());
  master_.set_open(true);
  EXPECT_EQ(Description(late), "v2");
}

TEST_F(FunctionSourceTest, ADeletedFunctionIsNotFoundAndForgotten) {
  ASSERT_EQ(FirstLookup(), "v1");
  master_.set_deleted();
  clock_.Advance(absl::Seconds(11));
  Answer gone;
  Source().Get("f", gone.done());
  absl::StatusOr<v1::FunctionSpec> spec = gone.Wait();
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(spec.status().message().find("not registered"), std::string::npos);
  // Forgotten: the next call asks again rather than using the old spec.
  Answer again;
  Source().Get("f", again.done());
  EXPECT_EQ(again.Wait().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(master_.lookups(), 3);
}

TEST_F(FunctionSourceTest, WithNoMasterAnsweringAKnownSpecIsUsedAndAnUnknownOneFails) {
  ASSERT_EQ(FirstLookup(), "v1");
  ask_at_ = "127.0.0.1:1";  // nothing listens there: refused at once
  clock_.Advance(absl::Seconds(30));
  Answer known;
  Source().Get("f", known.done());
  EXPECT_EQ(Description(known), "v1");
  Answer unknown;
  Source().Get("g", unknown.done());
  absl::StatusOr<v1::FunctionSpec> spec = unknown.Wait();
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(spec.status().message().find("127.0.0.1:1"), std::string::npos) << spec.status();
}

}  // namespace
}  // namespace fsched::worker
