// A zone master's link to its master, against a fake master served on
// loopback (the test's Cluster.AnnounceZone and Controller.ListFunctions) and
// a real master core behind the link: the announcement and the directory it
// brings back, functions mirrored, replaced and deleted as the master's
// change, and the last directory kept while the master is unreachable.
#include "master/parent_link.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/server.h"
#include "common/timer_queue.h"
#include "master/master_core.h"

namespace fsched::master {
namespace {

using ::testing::ElementsAre;

class FakeParent : public v1::Cluster::Service, public v1::Controller::Service {
 public:
  grpc::Status AnnounceZone(grpc::ServerContext*, const v1::AnnounceZoneRequest* request,
                            v1::ZoneDirectory* answer) override {
    absl::MutexLock lock(&mu_);
    announcements_.push_back(*request);
    *answer = directory_;
    return grpc::Status::OK;
  }
  grpc::Status ListFunctions(grpc::ServerContext*, const v1::ListFunctionsRequest*,
                             v1::ListFunctionsResponse* answer) override {
    absl::MutexLock lock(&mu_);
    ++listed_;
    *answer = functions_;
    return grpc::Status::OK;
  }

  void SetMasters(std::vector<std::string> ids) {
    absl::MutexLock lock(&mu_);
    directory_.Clear();
    for (const std::string& id : ids) directory_.add_masters()->set_worker_id(id);
  }
  void SetFunctions(std::vector<std::pair<std::string, std::string>> name_and_command) {
    absl::MutexLock lock(&mu_);
    functions_.Clear();
    for (const auto& [name, command] : name_and_command) {
      v1::FunctionSpec* spec = functions_.add_functions()->mutable_spec();
      spec->set_name(name);
      spec->add_command(command);
      spec->set_runtime(v1::RUNTIME_KIND_PROCESS);
    }
  }
  int listed() {
    absl::MutexLock lock(&mu_);
    return listed_;
  }
  std::vector<v1::AnnounceZoneRequest> announcements() {
    absl::MutexLock lock(&mu_);
    return announcements_;
  }

 private:
  absl::Mutex mu_;
  v1::ZoneDirectory directory_ ABSL_GUARDED_BY(mu_);
  v1::ListFunctionsResponse functions_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::AnnounceZoneRequest> announcements_ ABSL_GUARDED_BY(mu_);
  int listed_ ABSL_GUARDED_BY(mu_) = 0;
};

class ParentLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = StartServer("127.0.0.1:0",
                              {static_cast<v1::Cluster::Service*>(&parent_),
                               static_cast<v1::Controller::Service*>(&parent_)},
                              64 << 20);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    const std::string dir = ::testing::TempDir() + "/parent-link-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    MasterCoreOptions options;
    options.state_dir = dir;
    auto core = MasterCore::Create(std::move(options), RealClock::Get(), &timers_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }
  void TearDown() override {
    if (link_) link_->Stop();
    if (server_.server) server_.server->Shutdown(absl::ToChronoTime(absl::Now()));
  }
  void StartLink() {
    ParentLink::Options options;
    options.parent = "127.0.0.1:" + std::to_string(server_.port);
    options.self.set_node_id("zone-master-a");
    options.self.set_zone("a");
    options.self.set_join_token("t");
    options.interval = absl::Milliseconds(30);
    options.mirror_interval = absl::Milliseconds(60);
    link_ = std::make_unique<ParentLink>(options, core_->controller());
    link_->Start();
  }
  std::vector<std::string> LocalFunctions() {
    std::vector<std::string> out;
    for (const v1::Function& f : core_->controller()->ListFunctions()) {
      out.push_back(absl::StrCat(f.spec().name(), ":", f.spec().command(0)));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Until the parent was asked for its functions twice more: one full mirror
  // pass after whatever was set before.
  void WaitForMirror() {
    const int seen = parent_.listed();
    for (int i = 0; i < 500 && parent_.listed() < seen + 2; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_GE(parent_.listed(), seen + 2);
  }

  FakeParent parent_;
  RunningServer server_;
  TimerQueue timers_;
  std::unique_ptr<MasterCore> core_;
  std::unique_ptr<ParentLink> link_;
};

TEST_F(ParentLinkTest, AnnouncesItselfAndKeepsTheDirectoryItIsAnswered) {
  parent_.SetMasters({"master", "zone-master-a"});
  StartLink();
  for (int i = 0; i < 500 && link_->version() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(link_->version(), 1u);
  EXPECT_EQ(link_->directory().masters(0).worker_id(), "master");
  const std::vector<v1::AnnounceZoneRequest> sent = parent_.announcements();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].node_id(), "zone-master-a");
  EXPECT_EQ(sent[0].zone(), "a");
  EXPECT_EQ(sent[0].join_token(), "t");
  // The same answer again does not bump the version; a new one does.
  WaitForMirror();
  EXPECT_EQ(link_->version(), 1u);
  parent_.SetMasters({"master", "zone-master-a", "zone-master-b"});
  for (int i = 0; i < 500 && link_->version() == 1; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(link_->version(), 2u);
  EXPECT_EQ(link_->directory().masters_size(), 3);
  // The master goes away: the zone keeps what it last heard.
  server_.server->Shutdown(absl::ToChronoTime(absl::Now()));
  server_.server.reset();
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_EQ(link_->directory().masters_size(), 3);
  EXPECT_EQ(link_->version(), 2u);
}

TEST_F(ParentLinkTest, MirrorsTheMastersFunctionsReplacingAndDeletingAsTheyChange) {
  parent_.SetFunctions({{"f1", "true"}, {"f2", "date"}});
  StartLink();
  WaitForMirror();
  EXPECT_THAT(LocalFunctions(), ElementsAre("f1:true", "f2:date"));
  // Registered here by hand, not at the master: the mirror removes it too.
  v1::RegisterFunctionRequest local;
  local.mutable_spec()->set_name("local");
  local.mutable_spec()->add_command("id");
  ASSERT_TRUE(core_->controller()->RegisterFunction(local).ok());
  parent_.SetFunctions({{"f1", "false"}});
  WaitForMirror();
  EXPECT_THAT(LocalFunctions(), ElementsAre("f1:false"));
  EXPECT_EQ(core_->controller()->GetFunction("f1")->version(), 2u);
}

}  // namespace
}  // namespace fsched::master
