// Functions in runc and containerd containers through the whole cluster:
// pre-warm commands, modes reported back, a memory hog, eviction, and no
// container or cgroup left behind by a worker that stops, or even one that is
// killed.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "common/sha256.h"
#include "tests/integration/cluster_fixture.h"
#include "tests/worker/busybox_rootfs.h"
#include "tests/worker/private_containerd.h"
#include "tools/fschedctl/upload.h"
#include "worker/child_process.h"

namespace fsched {
namespace {

namespace fs = std::filesystem;

// cgroups (any hierarchy) of the containers of worker process `pid`.
std::vector<std::string> CgroupsOf(pid_t pid) {
  std::vector<std::string> found;
  const std::string prefix = "fs" + std::to_string(pid) + "-";
  std::error_code ec;
  for (const auto& controller : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    for (const auto& dir : fs::directory_iterator(controller.path() / "fsched", ec)) {
      if (dir.path().filename().string().starts_with(prefix)) found.push_back(dir.path());
    }
  }
  return found;
}

class ContainerClusterTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (const std::string why = worker::testing::WhyNoContainers(); !why.empty()) {
      GTEST_SKIP() << why;
    }
    std::string why;
    ASSERT_TRUE(worker::testing::MakeBusyboxRootfs(dir_ + "/rootfs", &why)) << why;
  }

  // The busybox root filesystem as a tar archive (in `archive`): its digest.
  std::string TarRootfs(std::string* archive) {
    const std::string tar = dir_ + "/rootfs.tar";
    EXPECT_EQ(std::system(("tar -C " + dir_ + "/rootfs -cf " + tar + " .").c_str()), 0);
    std::ifstream in(tar, std::ios::binary);
    archive->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    Sha256 hash;
    hash.Update(*archive);
    return hash.Digest();
  }

  grpc::Status Upload(const std::string& archive, const std::string& announced,
                      v1::Rootfs* stored) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    std::istringstream bytes(archive);
    return ctl::UploadRootfs(controller_.get(), &ctx, announced, bytes, stored,
                             300000);  // several chunks
  }

  grpc::Status RegisterContainer(const std::string& name, std::vector<std::string> command,
                                 uint32_t prewarmed = 0, uint64_t memory = 0) {
    v1::RegisterFunctionRequest req;
    v1::FunctionSpec* spec = req.mutable_spec();
    spec->set_name(name);
    spec->set_runtime(v1::RUNTIME_KIND_RUNC);
    spec->set_rootfs_path(dir_ + "/rootfs");
    for (auto& c : command) spec->add_command(c);
    spec->mutable_warm()->set_prewarmed(prewarmed);
    spec->mutable_limits()->set_memory_bytes(memory);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::Function resp;
    return controller_->RegisterFunction(&ctx, req, &resp);
  }

  // The idle instances `worker` last reported, e.g. {"f:PREWARMED" -> 1}.
  std::map<std::string, uint32_t> IdleInstances(const std::string& worker) {
    std::map<std::string, uint32_t> out;
    for (const v1::WorkerInfo& w : ListWorkers()) {
      if (w.id() != worker || w.state() != v1::WORKER_STATE_READY) continue;
      for (const v1::WarmInstance& i : w.load().warm()) {
        out[absl::StrCat(i.function(), ":",
                         i.mode() == v1::EXECUTION_MODE_WARM ? "warm" : "prewarmed")] = i.count();
      }
    }
    return out;
  }

  bool AwaitIdle(const std::string& worker, const std::map<std::string, uint32_t>& want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (IdleInstances(worker) == want) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }
};

TEST_F(ContainerClusterTest, PrewarmedThenWarmWithOomReportedAndNothingLeftBehind) {
  StartMaster();
  Process* first = StartWorker("box", 2);
  ASSERT_NE(first, nullptr);
  WaitForReady({"box"});
  ASSERT_TRUE(RegisterContainer("who", {"sh", "-c", "cat; echo \" as $(id -u)\""}, 1).ok());
  ASSERT_TRUE(AwaitIdle("box", {{"who:prewarmed", 1}})) << "the master's pre-warm never arrived";

  v1::InvocationResult r;
  ASSERT_TRUE(Invoke("who", "hello", &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_EQ(r.stdout(), "hello as 65534\n");
  EXPECT_EQ(r.mode(), v1::EXECUTION_MODE_PREWARMED);
  EXPECT_GT(FromProto(r.timings().cold_start()), absl::ZeroDuration());
  ASSERT_TRUE(Invoke("who", "again", &r).ok());
  EXPECT_EQ(r.mode(), v1::EXECUTION_MODE_WARM);
  EXPECT_EQ(FromProto(r.timings().cold_start()), absl::ZeroDuration());
  // Used pre-warmed instances are topped up; the used one stays warm.
  ASSERT_TRUE(AwaitIdle("box", {{"who:prewarmed", 1}, {"who:warm", 1}}));

  ASSERT_TRUE(RegisterContainer("hog", {"dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"},
                                0, 32 << 20)
                  .ok());
  ASSERT_TRUE(Invoke("hog", "", &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OOM_KILLED) << r.message();
  EXPECT_TRUE(absl::StrContains(r.message(), "32 MiB")) << r.message();

  // A worker killed outright leaves its containers; the next worker on the
  // same state directory removes them before it serves.
  const pid_t dead = first->pid();
  first->Signal(SIGKILL);
  first->Wait(absl::Seconds(10));
  Process* second = StartWorker("box2", 2);
  ASSERT_NE(second, nullptr);
  WaitForReady({"box2"});
  EXPECT_TRUE(CgroupsOf(dead).empty()) << CgroupsOf(dead)[0];
  EXPECT_FALSE(fs::exists(dir_ + "/worker-state/containers/w" + std::to_string(dead)));

  // A worker that joins later gets the pre-warm commands too; delete evicts.
  ASSERT_TRUE(AwaitIdle("box2", {{"who:prewarmed", 1}}));
  grpc::ClientContext ctx;
  v1::DeleteFunctionRequest del;
  del.set_name("who");
  v1::DeleteFunctionResponse deleted;
  ASSERT_TRUE(controller_->DeleteFunction(&ctx, del, &deleted).ok());
  ASSERT_TRUE(AwaitIdle("box2", {}));

  ASSERT_TRUE(RegisterContainer("idle", {"true"}).ok());
  ASSERT_TRUE(Invoke("idle", "", &r).ok());  // leaves a warm container on box2
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  ASSERT_TRUE(AwaitIdle("box2", {{"idle:warm", 1}}));
  const pid_t stopping = second->pid();
  second->Signal(SIGTERM);
  EXPECT_EQ(second->Wait(absl::Seconds(30)), 0);
  EXPECT_TRUE(CgroupsOf(stopping).empty()) << CgroupsOf(stopping)[0];
  std::error_code ec;
  for (const auto& leftover : fs::directory_iterator(dir_ + "/worker-state/containers", ec)) {
    // runc's state directory, shared by the workers on this state directory, stays; empty.
    if (leftover.path().filename() == "runc" && fs::is_empty(leftover.path())) continue;
    ADD_FAILURE() << "left behind: " << leftover.path();
  }
}

TEST_F(ContainerClusterTest, AnUploadedRootfsArchiveIsFetchedByTheWorkerAndChecked) {
  std::string archive;
  const std::string digest = TarRootfs(&archive);
  StartMaster();
  StartWorker("box", 1);
  WaitForReady({"box"});

  const auto upload = [&](const std::string& announced, v1::Rootfs* stored) {
    return Upload(archive, announced, stored);
  };
  v1::Rootfs stored;
  // Bytes that do not match the announced digest are refused and not kept.
  const std::string wrong = "sha256:" + std::string(64, '0');
  EXPECT_EQ(upload(wrong, &stored).error_code(), grpc::StatusCode::DATA_LOSS);
  v1::RegisterFunctionRequest req;
  req.mutable_spec()->set_name("boxed");
  req.mutable_spec()->set_runtime(v1::RUNTIME_KIND_RUNC);
  req.mutable_spec()->set_rootfs_digest(wrong);
  req.mutable_spec()->add_command("sh");
  req.mutable_spec()->add_command("-c");
  req.mutable_spec()->add_command("echo inside $(cat /proc/1/comm)");
  v1::Function function;
  {
    grpc::ClientContext ctx;
    grpc::Status s = controller_->RegisterFunction(&ctx, req, &function);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("was not uploaded"));
  }

  ASSERT_TRUE(upload(digest, &stored).ok());
  EXPECT_EQ(stored.digest(), digest);
  EXPECT_EQ(stored.size_bytes(), archive.size());
  req.mutable_spec()->set_rootfs_digest(digest);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(controller_->RegisterFunction(&ctx, req, &function).ok());
  }
  v1::InvocationResult r;
  ASSERT_TRUE(Invoke("boxed", "", &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_EQ(r.stdout(), "inside .fsched-shim\n");
  ASSERT_TRUE(Invoke("boxed", "", &r).ok());
  EXPECT_EQ(r.mode(), v1::EXECUTION_MODE_WARM);
  EXPECT_TRUE(fs::exists(dir_ + "/worker-state/rootfs-cache/" + DigestHex(digest) + "/complete"));
}

// Workers on one host that share a state directory (the local cluster's do)
// share its root filesystem cache: two worker processes whose first calls of
// a new archive come at once fetch and unpack it once between them (the other
// waits on the flock of <hex>.lock, then finds it complete), and both run
// from it.
TEST_F(ContainerClusterTest, TwoWorkerProcessesOnOneCacheFetchANewArchiveOnce) {
  std::string archive;
  const std::string digest = TarRootfs(&archive);
  StartMaster();
  StartWorker("box-a", 1);
  StartWorker("box-b", 1);
  WaitForReady({"box-a", "box-b"});
  v1::Rootfs stored;
  ASSERT_TRUE(Upload(archive, digest, &stored).ok());
  v1::RegisterFunctionRequest req;
  req.mutable_spec()->set_name("boxed");
  req.mutable_spec()->set_runtime(v1::RUNTIME_KIND_RUNC);
  req.mutable_spec()->set_rootfs_digest(digest);
  for (const char* arg : {"sh", "-c", "sleep 0.5; echo inside $(cat /proc/1/comm)"}) {
    req.mutable_spec()->add_command(arg);
  }
  {
    v1::Function function;
    grpc::ClientContext ctx;
    ASSERT_TRUE(controller_->RegisterFunction(&ctx, req, &function).ok());
  }
  // One slot each and two calls at once: one call on each worker.
  v1::InvocationResult results[2];
  grpc::Status statuses[2];
  {
    std::vector<std::thread> callers;
    for (int i = 0; i < 2; ++i) {
      callers.emplace_back([&, i] { statuses[i] = Invoke("boxed", "", &results[i]); });
    }
    for (std::thread& t : callers) t.join();
  }
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(results[i].outcome(), v1::OUTCOME_OK) << results[i].message();
    EXPECT_EQ(results[i].stdout(), "inside .fsched-shim\n");
  }
  EXPECT_NE(results[0].worker_id(), results[1].worker_id());
  const std::string unpacked = "root filesystem " + digest + " unpacked";
  int unpacks = 0;
  for (const char* id : {"box-a", "box-b"}) {
    const std::string log = testing::ReadFile(dir_ + "/" + id + ".log");
    for (size_t at = log.find(unpacked); at != std::string::npos; at = log.find(unpacked, at + 1)) {
      ++unpacks;
    }
  }
  EXPECT_EQ(unpacks, 1);
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir_ + "/worker-state/rootfs-cache")) {
    if (entry.is_directory()) ++entries;
  }
  EXPECT_EQ(entries, 1);
  EXPECT_TRUE(fs::exists(dir_ + "/worker-state/rootfs-cache/" + DigestHex(digest) + "/complete"));
}

TEST_F(ContainerClusterTest, AnImageRunsThroughContainerd) {
  std::string why;
  std::unique_ptr<worker::testing::PrivateContainerd> containerd =
      worker::testing::PrivateContainerd::Start(dir_ + "/containerd", &why);
  if (containerd == nullptr) GTEST_SKIP() << why;
  absl::Cleanup show_log = [&] {
    if (HasFailure())
      std::cerr << "containerd's log, last lines:\n" << containerd->LogTail() << "\n";
  };
  const std::string image = "fsched.test/busybox:1";
  ASSERT_TRUE(containerd->ImportRootfs(dir_ + "/rootfs", image, "fsched", &why)) << why;
  worker_flags_ = {"--containerd", "on", "--containerd_address", containerd->address()};
  StartMaster();
  Process* box = StartWorker("box", 2);
  ASSERT_NE(box, nullptr);
  WaitForReady({"box"});
  const std::vector<v1::WorkerInfo> workers = ListWorkers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_THAT(workers[0].capacity().runtimes(), ::testing::Contains(v1::RUNTIME_KIND_CONTAINERD));

  const auto register_image = [&](const std::string& name, const std::string& ref,
                                  uint32_t prewarmed) {
    v1::RegisterFunctionRequest req;
    v1::FunctionSpec* spec = req.mutable_spec();
    spec->set_name(name);
    spec->set_runtime(v1::RUNTIME_KIND_CONTAINERD);
    spec->set_image(ref);
    for (const char* arg : {"sh", "-c", "cat; echo \" as $(id -u) in $(cat /proc/1/comm)\""}) {
      spec->add_command(arg);
    }
    spec->mutable_warm()->set_prewarmed(prewarmed);
    grpc::ClientContext ctx;
    v1::Function resp;
    return controller_->RegisterFunction(&ctx, req, &resp);
  };
  ASSERT_TRUE(register_image("boxed", image, 1).ok());
  ASSERT_TRUE(AwaitIdle("box", {{"boxed:prewarmed", 1}})) << "the master's pre-warm never arrived";
  v1::InvocationResult r;
  ASSERT_TRUE(Invoke("boxed", "hello", &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_EQ(r.stdout(), "hello as 65534 in .fsched-shim\n");
  EXPECT_EQ(r.mode(), v1::EXECUTION_MODE_PREWARMED);
  ASSERT_TRUE(Invoke("boxed", "again", &r).ok());
  EXPECT_EQ(r.mode(), v1::EXECUTION_MODE_WARM);

  // An image the worker's containerd does not have: a result that says what to do.
  ASSERT_TRUE(register_image("ghost", "fsched.test/ghost:1", 0).ok());
  ASSERT_TRUE(Invoke("ghost", "", &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_START_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("image fsched.test/ghost:1 is not in containerd namespace"));

  box->Signal(SIGTERM);
  EXPECT_EQ(box->Wait(absl::Seconds(30)), 0);
  absl::StatusOr<std::string> left =
      worker::RunTool({"ctr", "--address", containerd->address(), "--namespace", "fsched",
                       "containers", "list", "--quiet"});
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(*left, "") << "containers left behind";
}

}  // namespace
}  // namespace fsched
