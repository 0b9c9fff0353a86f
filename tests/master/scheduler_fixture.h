// A master core (registry, cluster, table, scheduler, controller) on a manual
// clock with fake worker streams: the scheduling logic without gRPC.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/clock.h"
#include "common/timer_queue.h"
#include "master/controller.h"
#include "master/scheduler.h"
#include "scheduling/policy_factory.h"
#include "tests/master/fake_worker_stream.h"

namespace fsched::master::testing {

class SchedulerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = ::testing::TempDir() + "/sched-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    store_ = std::move(*FunctionStore::Open(dir));
    registry_ = std::move(*FunctionRegistry::Create(store_.get(), FunctionLimits(), &clock_));
    ClusterManager::Options cluster_options;
    cluster_options.heartbeat_timeout = absl::Seconds(3);
    cluster_ = std::make_unique<ClusterManager>(cluster_options, &clock_);
    table_ = std::make_unique<InvocationTable>(1000);
    predictor_ =
        std::make_unique<scheduling::RuntimePredictor>(scheduling::RuntimePredictor::Options());
    scheduler_ = std::make_unique<Scheduler>(
        SchedulerOptions(), cluster_.get(), table_.get(), registry_.get(), predictor_.get(),
        &clock_, std::move(*scheduling::MakeQueueOrder(QueueOrderName())),
        std::move(*scheduling::MakePlacementPolicy("round-robin")));
    controller_ =
        std::make_unique<Controller>(ControllerOptions(), registry_.get(), table_.get(),
                                     scheduler_.get(), predictor_.get(), &timers_, &clock_);
  }
  virtual Scheduler::Options SchedulerOptions() {
    Scheduler::Options o;
    o.queue_timeout = absl::Seconds(10);
    o.max_queue = 5;
    o.max_attempts = 2;
    return o;
  }
  virtual std::string QueueOrderName() { return "fifo"; }
  virtual Controller::Options ControllerOptions() {
    Controller::Options o;
    o.max_payload_bytes = 16;
    return o;
  }

  void RegisterFunction(const std::string& name,
                        v1::RuntimeKind runtime = v1::RUNTIME_KIND_PROCESS) {
    v1::RegisterFunctionRequest req;
    req.mutable_spec()->set_name(name);
    req.mutable_spec()->add_command("true");
    req.mutable_spec()->set_runtime(runtime);
    if (runtime == v1::RUNTIME_KIND_RUNC) req.mutable_spec()->set_rootfs_path("/rootfs");
    ASSERT_TRUE(controller_->RegisterFunction(req).ok());
  }
  ClusterManager::Session Join(const std::string& id, uint32_t slots) {
    streams_[id] = std::make_shared<FakeWorkerStream>();
    v1::Welcome welcome;
    auto session = cluster_->Register(MakeRegister(id, slots), streams_[id], &welcome);
    EXPECT_TRUE(session.ok());
    scheduler_->OnWorkerJoined();
    return *session;
  }
  std::string Submit(const std::string& function) {
    v1::InvokeRequest req;
    req.set_function(function);
    auto id = controller_->Submit(req, [this](const v1::Invocation& inv) {
      absl::MutexLock lock(&done_mu_);
      done_[inv.id()] = inv;
    });
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }
  // The worker reports success for an assignment it received.
  void Finish(const std::string& worker, const v1::Assignment& a,
              v1::Outcome outcome = v1::OUTCOME_OK) {
    v1::InvocationResult r;
    r.set_invocation_id(a.invocation_id());
    r.set_attempts(a.attempt());
    r.set_function(a.function().name());
    r.set_outcome(outcome);
    scheduler_->OnResult(worker, r);
  }
  std::optional<v1::Invocation> Done(const std::string& id) {
    absl::MutexLock lock(&done_mu_);
    auto it = done_.find(id);
    if (it == done_.end()) return std::nullopt;
    return it->second;
  }

  ManualClock clock_{absl::FromUnixSeconds(5000)};
  TimerQueue timers_;
  std::unique_ptr<FunctionStore> store_;
  std::unique_ptr<FunctionRegistry> registry_;
  std::unique_ptr<ClusterManager> cluster_;
  std::unique_ptr<InvocationTable> table_;
  std::unique_ptr<scheduling::RuntimePredictor> predictor_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Controller> controller_;
  std::map<std::string, std::shared_ptr<FakeWorkerStream>> streams_;
  absl::Mutex done_mu_;
  std::map<std::string, v1::Invocation> done_;
};

}  // namespace fsched::master::testing
