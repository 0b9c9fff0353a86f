// Fsched's task flow through a real master and worker (cache partitions on a
// fake resctrl tree): upload, "not ready" before a benchmark, the benchmark
// at 1..N ways, runs that say BENCHMARKED or ASSISTED, what survives a
// master restart, and the errors a person gets for bad input.
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tests/integration/cluster_fixture.h"
#include "tests/worker/fake_resctrl.h"
#include "tools/fschedctl/upload.h"

namespace fsched {
namespace {

namespace fs = std::filesystem;

class TaskFlowTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    worker::testing::MakeFakeResctrl(dir_ + "/resctrl");  // 20 ways
    worker_flags_ = {"--resctrl_root", dir_ + "/resctrl"};
    fs::create_directories(dir_ + "/task");
    testing::WriteFile(dir_ + "/task/run.sh", "echo \"sorted $1 items in $(pwd)\"\n");
    ASSERT_EQ(std::system(("tar -C " + dir_ + "/task -cf " + dir_ + "/task.tar .").c_str()), 0);
  }

  grpc::Status Upload(const std::string& name, const std::string& bytes, v1::Task* task) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    std::istringstream archive(bytes);
    return ctl::UploadTask(controller_.get(), &ctx, name, archive, task, 100);  // several chunks
  }

  grpc::Status Benchmark(const std::string& task_id, double size, uint32_t max_ways,
                         v1::BenchmarkTaskResponse* out) {
    v1::BenchmarkTaskRequest req;
    req.set_task_id(task_id);
    for (const std::string& arg : {std::string("sh"), std::string("run.sh"), absl::StrCat(size)}) {
      req.add_command(arg);
    }
    req.set_input_size(size);
    req.set_max_ways(max_ways);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    return controller_->BenchmarkTask(&ctx, req, out);
  }

  grpc::Status RunTask(const std::string& task_id, double size, v1::RunTaskResponse* out,
                       absl::Duration deadline = absl::Seconds(30)) {
    v1::RunTaskRequest req;
    req.set_task_id(task_id);
    for (const std::string& arg : {std::string("sh"), std::string("run.sh"), absl::StrCat(size)}) {
      req.add_command(arg);
    }
    req.set_input_size(size);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return controller_->RunTask(&ctx, req, out);
  }

  std::string Archive() { return testing::ReadFile(dir_ + "/task.tar"); }
};

TEST_F(TaskFlowTest, UploadNotReadyBenchmarkRunAndRestart) {
  StartMaster();
  ASSERT_NE(StartWorker("box", 2), nullptr);
  WaitForReady({"box"});
  v1::Task task;
  ASSERT_TRUE(Upload("sort", Archive(), &task).ok());
  EXPECT_EQ(task.name(), "sort");
  EXPECT_TRUE(task.task_id().starts_with("task-")) << task.task_id();
  EXPECT_EQ(task.size_bytes(), Archive().size());

  v1::RunTaskResponse run;
  grpc::Status s = RunTask(task.task_id(), 100, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("not yet ready for execution"));

  v1::BenchmarkTaskResponse bench;
  s = Benchmark(task.task_id(), 100, 4, &bench);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(bench.points_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(bench.points(i).ways(), static_cast<uint32_t>(i + 1));
    EXPECT_GT(FromProto(bench.points(i).time()), absl::ZeroDuration());
  }
  EXPECT_THAT(bench.message(), HasSubstr("ready for execution"));
  EXPECT_GT(bench.fit_a() + bench.fit_b(), 0);

  ASSERT_TRUE(RunTask(task.task_id(), 100, &run).ok());
  EXPECT_EQ(run.mode(), v1::TASK_RUN_MODE_BENCHMARKED);
  EXPECT_EQ(run.result().outcome(), v1::OUTCOME_OK) << run.result().message();
  EXPECT_THAT(run.result().stdout(), HasSubstr("sorted 100 items in /"));
  EXPECT_THAT(run.result().stdout(), HasSubstr("/rootfs-cache/"));  // its unpacked archive
  EXPECT_GE(run.cache_ways(), 1u);
  ASSERT_TRUE(RunTask(task.task_id(), 300, &run).ok());
  EXPECT_EQ(run.mode(), v1::TASK_RUN_MODE_ASSISTED);
  EXPECT_THAT(run.result().stdout(), HasSubstr("sorted 300 items"));

  // The task and its curve survive a master restart.
  master_->Signal(SIGTERM);
  ASSERT_EQ(master_->Wait(absl::Seconds(20)), 0);
  workers_.clear();
  StartMaster();
  ASSERT_NE(StartWorker("box2", 2), nullptr);
  WaitForReady({"box2"});
  ASSERT_TRUE(RunTask(task.task_id(), 100, &run).ok());
  EXPECT_EQ(run.mode(), v1::TASK_RUN_MODE_BENCHMARKED);
  EXPECT_EQ(run.result().worker_id(), "box2");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/resctrl"), fs::directory_iterator()),
            3);  // info, schemata, tasks: no group left
}

// An upload the client cancels midway keeps nothing, even though what arrived
// begins like a valid archive: only a stream the client ended is committed.
TEST_F(TaskFlowTest, ACancelledUploadKeepsNothing) {
  StartMaster();
  const auto stored = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::ListRootfsResponse list;
    EXPECT_TRUE(controller_->ListRootfs(&ctx, v1::ListRootfsRequest(), &list).ok());
    return list.archives_size();
  };
  ASSERT_EQ(stored(), 0);
  {
    grpc::ClientContext ctx;
    v1::Task task;
    auto writer = controller_->UploadTask(&ctx, &task);
    v1::UploadTaskChunk chunk;
    chunk.set_name("half");
    chunk.set_data(Archive().substr(0, 1024));  // the tar header is in it
    ASSERT_TRUE(writer->Write(chunk));
    ctx.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The master has seen the cancellation once a later upload is answered.
  v1::Task whole;
  ASSERT_TRUE(Upload("whole", Archive(), &whole).ok());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(stored(), 1);
}

TEST_F(TaskFlowTest, BadInputGetsAClearError) {
  worker_flags_ = {"--resctrl", "off"};
  StartMaster();
  ASSERT_NE(StartWorker("plain", 1), nullptr);
  WaitForReady({"plain"});
  v1::Task task;
  grpc::Status s = Upload("notes", std::string(2000, 'x'), &task);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("tar archive"));
  s = Upload("", Archive(), &task);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("name"));
  ASSERT_TRUE(Upload("sort", Archive(), &task).ok());

  v1::BenchmarkTaskResponse bench;
  s = Benchmark("task-unknown", 1, 0, &bench);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  // No worker with cache partitions: nothing to benchmark on.
  s = Benchmark(task.task_id(), 1, 0, &bench);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("cache partitions"));
  v1::BenchmarkTaskRequest empty;
  empty.set_task_id(task.task_id());
  grpc::ClientContext ctx;
  s = controller_->BenchmarkTask(&ctx, empty, &bench);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("command is empty"));
  v1::RunTaskResponse run;
  s = RunTask(task.task_id(), -1, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace fsched
