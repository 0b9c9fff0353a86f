#include "master/function_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "common/clock.h"
#include "common/proto_time.h"

namespace fsched::master {
namespace {

using ::testing::HasSubstr;

v1::FunctionSpec Spec(const std::string& name) {
  v1::FunctionSpec spec;
  spec.set_name(name);
  spec.add_command("echo");
  spec.add_command("hi");
  return spec;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/registry-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void Reopen() {
    registry_.reset();
    store_.reset();
    auto store = FunctionStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto registry = FunctionRegistry::Create(store_.get(), FunctionLimits(), &clock_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(*registry);
  }
  std::string dir_;
  ManualClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<FunctionStore> store_;
  std::unique_ptr<FunctionRegistry> registry_;
};

TEST_F(RegistryTest, RegisteredFunctionsSurviveReopen) {
  ASSERT_TRUE(registry_->Register(Spec("alpha"), false).ok());
  ASSERT_TRUE(registry_->Register(Spec("beta"), false).ok());
  ASSERT_TRUE(registry_->Delete("beta").ok());
  Reopen();
  auto alpha = registry_->Get("alpha");
  ASSERT_TRUE(alpha.ok()) << alpha.status();
  EXPECT_EQ(alpha->spec().command(1), "hi");
  EXPECT_EQ(alpha->version(), 1u);
  EXPECT_EQ(registry_->Get("beta").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, DuplicateNeedsReplaceAndBumpsVersion) {
  ASSERT_TRUE(registry_->Register(Spec("alpha"), false).ok());
  auto again = registry_->Register(Spec("alpha"), false);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  v1::FunctionSpec changed = Spec("alpha");
  changed.set_command(1, "there");
  auto replaced = registry_->Register(changed, true);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->version(), 2u);
  EXPECT_EQ(registry_->Get("alpha")->spec().command(1), "there");
}

TEST_F(RegistryTest, InvalidSpecsNameTheField) {
  struct Case {
    std::function<void(v1::FunctionSpec*)> mutate;
    const char* expect;
  } cases[] = {
      {[](v1::FunctionSpec* s) { s->set_name(""); }, "spec.name"},
      {[](v1::FunctionSpec* s) { s->set_name("Bad Name"); }, "spec.name"},
      {[](v1::FunctionSpec* s) { s->set_name(std::string(64, 'a')); }, "spec.name"},
      {[](v1::FunctionSpec* s) { s->clear_command(); }, "spec.command is empty"},
      {[](v1::FunctionSpec* s) { s->set_command(0, ""); }, "spec.command[0]"},
      {[](v1::FunctionSpec* s) { s->set_command(1, std::string(5000, 'x')); }, "spec.command[1]"},
      {[](v1::FunctionSpec* s) { (*s->mutable_env())["A=B"] = "1"; }, "spec.env"},
      {[](v1::FunctionSpec* s) { ToProto(absl::Hours(2), s->mutable_limits()->mutable_timeout()); },
       "spec.limits.timeout"},
      {[](v1::FunctionSpec* s) { s->mutable_limits()->set_cpu_cores(-1); }, "cpu_cores"},
      {[](v1::FunctionSpec* s) { s->set_runtime(v1::RUNTIME_KIND_RUNC); }, "rootfs"},
      {[](v1::FunctionSpec* s) { s->set_runtime(v1::RUNTIME_KIND_CONTAINERD); }, "spec.image"},
      {[](v1::FunctionSpec* s) { s->mutable_limits()->set_cache_ways(65); }, "cache_ways"},
      {[](v1::FunctionSpec* s) { s->set_max_concurrency(2000000); }, "spec.max_concurrency"},
      {[](v1::FunctionSpec* s) {
         s->set_runtime(v1::RUNTIME_KIND_RUNC);
         s->set_rootfs_path("rootfs/relative");
       },
       "must be an absolute path"},
      {[](v1::FunctionSpec* s) { s->mutable_limits()->set_memory_bytes(1000); }, "below 4 MiB"},
      {[](v1::FunctionSpec* s) {
         s->mutable_limits()->mutable_timeout()->set_seconds(1);
         s->mutable_limits()->mutable_timeout()->set_nanos(-5);
       },
       "spec.limits.timeout has seconds and nanos of different signs"},
      {[](v1::FunctionSpec* s) { s->mutable_limits()->mutable_timeout()->set_nanos(2000000000); },
       "spec.limits.timeout is out of range"},
      {[](v1::FunctionSpec* s) {
         ToProto(absl::Seconds(-1), s->mutable_warm()->mutable_keep_alive());
       },
       "spec.warm.keep_alive is negative"},
      {[](v1::FunctionSpec* s) { s->mutable_warm()->set_prewarmed(65); }, "exceeds 64"},
      {[](v1::FunctionSpec* s) {
         s->mutable_warm()->set_prewarmed(3);
         s->mutable_warm()->set_max_instances(2);
       },
       "exceeds spec.warm.max_instances 2"},
      {[](v1::FunctionSpec* s) { s->set_runtime(static_cast<v1::RuntimeKind>(42)); }, "runtime"},
      // Persistent instances and language runtimes.
      {[](v1::FunctionSpec* s) { s->set_lifetime(static_cast<v1::Lifetime>(9)); },
       "spec.lifetime 9 is unknown"},
      {[](v1::FunctionSpec* s) { s->set_handler("main:handle"); }, "spec.handler needs"},
      {[](v1::FunctionSpec* s) {
         s->clear_command();
         s->set_language("ruby");
         s->set_handler("main:handle");
       },
       "spec.language 'ruby' is unknown"},
      {[](v1::FunctionSpec* s) {
         s->set_language("python");
         s->set_handler("main:handle");
       },
       "spec.command must be empty"},
      {[](v1::FunctionSpec* s) {
         s->clear_command();
         s->set_language("python");
         s->set_handler("main");
       },
       "module:function"},
      {[](v1::FunctionSpec* s) {
         s->clear_command();
         s->set_language("node");
         s->set_handler("index.js:");
       },
       "file.js:export"},
      {[](v1::FunctionSpec* s) {
         s->clear_command();
         s->set_language("python");
         s->set_handler("main:handle");
         s->set_lifetime(v1::LIFETIME_EXEC);
       },
       "spec.lifetime EXEC cannot go with it"},
      {[](v1::FunctionSpec* s) {
         ToProto(absl::Hours(2), s->mutable_limits()->mutable_init_timeout());
       },
       "spec.limits.init_timeout"},
      {[](v1::FunctionSpec* s) { s->mutable_warm()->set_concurrency(4); },
       "spec.warm.concurrency is for persistent instances"},
      {[](v1::FunctionSpec* s) {
         s->set_lifetime(v1::LIFETIME_PERSISTENT);
         s->mutable_warm()->set_concurrency(5000);
       },
       "spec.warm.concurrency 5000 exceeds 1000"},
  };
  for (const Case& c : cases) {
    v1::FunctionSpec spec = Spec("valid-name");
    c.mutate(&spec);
    auto result = registry_->Register(spec, false);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_THAT(result.status().message(), HasSubstr(c.expect));
  }
  EXPECT_TRUE(registry_->List().empty());  // nothing half-registered
}

// A container's root filesystem is its whole view of the host: never the
// host's own root or system directories, however the path is spelled.
TEST_F(RegistryTest, LanguageRuntimeFunctionsNeedNoCommand) {
  v1::FunctionSpec spec;
  spec.set_name("py");
  spec.set_language("python");
  spec.set_handler("main:handle");
  spec.set_working_dir("/srv/code/py");
  ASSERT_TRUE(registry_->Register(spec, false).ok());
  spec.set_name("js");
  spec.set_language("node");
  spec.set_handler("lib/index.js:handle");
  spec.set_lifetime(v1::LIFETIME_PERSISTENT);
  ASSERT_TRUE(registry_->Register(spec, false).ok());
  EXPECT_EQ(registry_->List().size(), 2u);
}

TEST_F(RegistryTest, RootFilesystemsAreNeverTheHostsOwnDirectories) {
  for (const char* path :
       {"/", "/etc", "/etc/ssl", "/../../", "/srv/../etc", "/usr/lib", "/var/lib/fsched",
        "/proc/1/root", "/tmp", "/tmp/", "/home", "//etc", "/srv/./../usr/bin", "relative"}) {
    v1::FunctionSpec spec = Spec("boxed");
    spec.set_runtime(v1::RUNTIME_KIND_RUNC);
    spec.set_rootfs_path(path);
    auto result = registry_->Register(spec, false);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(result.status().message(), HasSubstr("spec.rootfs_path")) << path;
  }
  for (const char* path : {"/srv/rootfs/busybox", "/tmp/busybox-rootfs", "/opt/fn/rootfs",
                           "/tmp//fsched-it/rootfs", "/srv/x/"}) {
    v1::FunctionSpec spec = Spec("boxed");
    spec.set_runtime(v1::RUNTIME_KIND_RUNC);
    spec.set_rootfs_path(path);
    EXPECT_TRUE(registry_->Register(spec, true).ok()) << path;
  }
}

TEST_F(RegistryTest, DurationsKeepTheMostRecentInOrder) {
  ASSERT_TRUE(registry_->Register(Spec("alpha"), false).ok());
  for (int i = 1; i <= 5; ++i)
    registry_->RecordExecution("alpha", absl::Milliseconds(i * 10), i != 3);
  auto durations = registry_->Durations("alpha", 3);
  ASSERT_TRUE(durations.ok());
  ASSERT_EQ(durations->size(), 1u);
  const auto& d = (*durations)[0];
  EXPECT_EQ(d.count(), 5u);
  ASSERT_EQ(d.recent_size(), 3);
  EXPECT_DOUBLE_EQ(ToSeconds(d.recent(0)), 0.03);
  EXPECT_DOUBLE_EQ(ToSeconds(d.recent(2)), 0.05);
  auto function = registry_->Get("alpha");
  EXPECT_EQ(function->stats().failures(), 1u);
  EXPECT_NEAR(ToSeconds(function->stats().mean_execution()), 0.03, 1e-9);
  EXPECT_EQ(registry_->Durations("nope", 10).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, RuntimeModelsPersistAndGoWithTheirFunction) {
  ASSERT_TRUE(registry_->Register(Spec("alpha"), false).ok());
  v1::RuntimeModel model;
  model.set_function("alpha");
  v1::RuntimeHistory* h = model.add_histories();
  h->add_seconds(0.25);
  h->set_ewma_seconds(0.25);
  h->set_observations(1);
  ASSERT_TRUE(store_->PutModels({model}).ok());
  Reopen();
  auto models = store_->LoadModels();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].histories(0).seconds(0), 0.25);
  ASSERT_TRUE(registry_->Delete("alpha").ok());
  EXPECT_TRUE(store_->LoadModels()->empty());
}

// Call counters and recent durations are written in batches of what ran
// since the last batch, and a registry reopened on the same store has them.
TEST_F(RegistryTest, CallHistoriesSurviveReopenAndGoWithTheirFunction) {
  ASSERT_TRUE(registry_->Register(Spec("alpha"), false).ok());
  ASSERT_TRUE(registry_->Register(Spec("beta"), false).ok());
  EXPECT_EQ(registry_->TakeDirtyHistories().size(), 2u);  // registered: fresh counters
  EXPECT_TRUE(registry_->TakeDirtyHistories().empty());
  // More than the ring holds, so the newest are kept in order across the reopen.
  for (int i = 1; i <= 1005; ++i) {
    registry_->RecordExecution("alpha", absl::Milliseconds(i), i % 100 != 0);
  }
  std::vector<v1::FunctionHistory> dirty = registry_->TakeDirtyHistories();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty[0].function(), "alpha");
  EXPECT_EQ(dirty[0].invocations(), 1005u);
  EXPECT_EQ(dirty[0].failures(), 10u);
  ASSERT_EQ(dirty[0].recent_seconds_size(), 1000);
  EXPECT_DOUBLE_EQ(dirty[0].recent_seconds(0), 0.006);
  ASSERT_TRUE(store_->PutHistories(dirty).ok());
  const auto before = registry_->Durations("alpha", 1000);
  const auto stats_before = registry_->Get("alpha")->stats();
  Reopen();
  const auto after = registry_->Durations("alpha", 1000);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].count(), 1005u);
  ASSERT_EQ((*after)[0].recent_size(), 1000);
  EXPECT_EQ((*after)[0].SerializeAsString(), (*before)[0].SerializeAsString());
  EXPECT_EQ(registry_->Get("alpha")->stats().SerializeAsString(), stats_before.SerializeAsString());
  // The next call after the reopen lands in the ring where the oldest was.
  registry_->RecordExecution("alpha", absl::Seconds(2), true);
  const auto next = registry_->Durations("alpha", 2);
  EXPECT_DOUBLE_EQ(ToSeconds((*next)[0].recent(0)), 1.005);
  EXPECT_DOUBLE_EQ(ToSeconds((*next)[0].recent(1)), 2.0);
  // A function that never ran has none; deleting one takes its history along.
  EXPECT_EQ((*registry_->Durations("beta", 10))[0].count(), 0u);
  ASSERT_TRUE(registry_->Delete("alpha").ok());
  EXPECT_TRUE(store_->LoadHistories()->empty());
}

// Accepted invocations come back in order of arrival; a finished one is gone;
// a record that does not parse is a clear DATA_LOSS, not a silent skip.
TEST_F(RegistryTest, AcceptedInvocationsComeBackInArrivalOrder) {
  const auto accepted = [](const std::string& id, int64_t second) {
    v1::AcceptedInvocation a;
    a.set_id(id);
    a.mutable_spec()->set_name("alpha");
    a.mutable_request()->set_payload("p-" + id);
    a.mutable_submitted()->set_seconds(second);
    return a;
  };
  ASSERT_TRUE(store_->PutAccepted(accepted("inv-b", 20)).ok());
  ASSERT_TRUE(store_->PutAccepted(accepted("inv-a", 30)).ok());
  ASSERT_TRUE(store_->PutAccepted(accepted("inv-c", 10)).ok());
  ASSERT_TRUE(store_->DeleteAccepted("inv-a").ok());
  ASSERT_TRUE(store_->DeleteAccepted("inv-none").ok());  // finishing twice is harmless
  Reopen();
  auto loaded = store_->LoadAccepted();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].id(), "inv-c");
  EXPECT_EQ((*loaded)[1].id(), "inv-b");
  EXPECT_EQ((*loaded)[1].request().payload(), "p-inv-b");

  // A torn or foreign record.
  store_.reset();
  registry_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/fsched.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT INTO accepted_invocations(name, body) "
                         "VALUES('inv-x', x'ffffffffff');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = FunctionStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  const auto corrupt = (*store)->LoadAccepted();
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(corrupt.status().message()), HasSubstr("accepted invocation is corrupt"));
}

TEST(FunctionStoreTest, UnusableStateDirIsFailedPrecondition) {
  auto store = FunctionStore::Open("/proc/fsched-cannot-create-here");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fsched::master
