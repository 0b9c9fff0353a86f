// The master's core (master_core.h, as fsched-master builds it) on a manual
// clock with fake worker streams: the scheduling logic without gRPC.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/clock.h"
#include "common/timer_queue.h"
#include "master/master_core.h"
#include "tests/master/fake_worker_stream.h"

namespace fsched::master::testing {

class SchedulerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = ::testing::TempDir() + "/sched-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    StartCore(dir);
  }
  // A master stopped and started again on the same state directory (with
  // durable invocations, what it had accepted is recovered).
  void Restart() {
    core_.reset();
    streams_.clear();
    StartCore(state_dir_);
  }
  void StartCore(const std::string& dir) {
    state_dir_ = dir;
    MasterCoreOptions options;
    options.state_dir = dir;
    options.durable_invocations = Durable();
    options.cluster.heartbeat_timeout = absl::Seconds(3);
    options.retention.results = 1000;
    options.queue_order = QueueOrderName();
    options.order = OrderOptions();
    options.placement = "round-robin";
    options.scheduler = SchedulerOptions();
    options.controller = ControllerOptions();
    absl::StatusOr<std::unique_ptr<MasterCore>> core =
        MasterCore::Create(std::move(options), &clock_, &timers_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
    store_ = core_->store();
    registry_ = core_->registry();
    cluster_ = core_->cluster();
    table_ = core_->table();
    predictor_ = core_->predictor();
    scheduler_ = core_->scheduler();
    controller_ = core_->controller();
  }
  virtual Scheduler::Options SchedulerOptions() {
    Scheduler::Options o;
    o.queue_timeout = absl::Seconds(10);
    o.max_queue = 5;
    o.max_attempts = 2;
    return o;
  }
  virtual std::string QueueOrderName() { return "fifo"; }
  virtual bool Durable() { return false; }
  virtual scheduling::QueueOrderOptions OrderOptions() { return {}; }
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
  // Registers as the master's worker link does: lost ones re-queued, held
  // ones it did not give adopted (and awaited by the welcome).
  ClusterManager::Session Join(const std::string& id, uint32_t slots,
                               const std::vector<InFlight>& held = {},
                               v1::Welcome* welcome_out = nullptr) {
    streams_[id] = std::make_shared<FakeWorkerStream>();
    v1::Welcome welcome;
    v1::Register reg = MakeRegister(id, slots);
    for (const InFlight& h : held) {
      v1::HeldInvocation* added = reg.add_held();
      added->set_invocation_id(h.invocation_id);
      added->set_attempt(h.attempt);
    }
    std::vector<InFlight> lost;
    std::vector<InFlight> unclaimed;
    auto session = cluster_->Register(reg, streams_[id], &welcome, &lost, &unclaimed);
    EXPECT_TRUE(session.ok());
    for (std::string& adopted : scheduler_->Adopt(id, unclaimed)) {
      welcome.add_awaiting(std::move(adopted));
    }
    scheduler_->OnLost(lost);
    scheduler_->OnWorkerJoined();
    if (welcome_out != nullptr) *welcome_out = welcome;
    return *session;
  }
  // `worker`: pinned to that worker.
  std::string Submit(const std::string& function, const std::string& worker = "") {
    v1::InvokeRequest req;
    req.set_function(function);
    req.set_worker_id(worker);
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

  std::string state_dir_;
  ManualClock clock_{absl::FromUnixSeconds(5000)};
  TimerQueue timers_;
  std::unique_ptr<MasterCore> core_;
  // The core's parts, for the tests to drive.
  FunctionStore* store_ = nullptr;
  FunctionRegistry* registry_ = nullptr;
  ClusterManager* cluster_ = nullptr;
  InvocationTable* table_ = nullptr;
  scheduling::RuntimePredictor* predictor_ = nullptr;
  Scheduler* scheduler_ = nullptr;
  Controller* controller_ = nullptr;
  std::map<std::string, std::shared_ptr<FakeWorkerStream>> streams_;
  absl::Mutex done_mu_;
  std::map<std::string, v1::Invocation> done_;
};

}  // namespace fsched::master::testing
