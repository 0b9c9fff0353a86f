// The fixture of the end-to-end tests: a real fsched-master and real
// fsched-worker processes on loopback, with helpers for the public API.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/proto_time.h"
#include "common/rpc.h"
#include "fsched/v1/admin.grpc.pb.h"
#include "fsched/v1/cluster.grpc.pb.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "fsched/v1/link.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/integration/process_fixture.h"

namespace fsched {

using ::testing::HasSubstr;
using testing::Process;

inline constexpr char kToken[] = "integration-token";

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::TestDir(); }

  // Heartbeats are fast so a killed worker is declared dead within a second.
  // The cluster's credential is in a file only its owner reads, never on a
  // command line (which every local user, functions included, can read).
  std::string MasterConfig(const std::string& extra = "") {
    return absl::StrCat("node: {id: test-master}\nlisten: ", master_listen_, "\nstate_dir: ", dir_,
                        "/state\ncluster: {join_token_file: ", TokenFile("cluster", kToken),
                        ", heartbeat_interval: 100ms, heartbeat_timeout: 800ms", cluster_extra_,
                        "}\n", extra);
  }

  // `token` in <dir>/NAME.token, mode 0600; returns the path.
  std::string TokenFile(const std::string& name, const std::string& token) {
    const std::string path = dir_ + "/" + name + ".token";
    EXPECT_TRUE(WriteSecretFile(path, token + "\n").ok()) << path;
    return path;
  }

  void StartMaster(const std::string& extra_config = "") {
    const std::string config = dir_ + "/master.yaml";
    testing::WriteFile(config, MasterConfig(extra_config));
    const std::string port_file = dir_ + "/master.port";
    std::remove(port_file.c_str());
    testing::UseAdminToken(dir_ + "/state");
    auto process = Process::Start({FSCHED_MASTER_BIN, "--config", config, "--port_file", port_file},
                                  dir_ + "/master.log");
    ASSERT_TRUE(process.ok()) << process.status();
    master_ = std::move(*process);
    auto port = testing::WaitForPortFile(port_file, master_.get());
    ASSERT_TRUE(port.ok()) << port.status();
    master_address_ = absl::StrCat("127.0.0.1:", *port);
    channel_ = MakeChannel(master_address_);
    controller_ = v1::Controller::NewStub(channel_);
    cluster_ = v1::Cluster::NewStub(channel_);
    admin_ = v1::Admin::NewStub(channel_);
  }

  Process* StartWorker(const std::string& id, int slots, const std::string& token = kToken,
                       const std::string& master = "") {
    const std::string port_file = dir_ + "/" + id + ".port";
    std::remove(port_file.c_str());  // a restarted worker must not be found at its old port
    std::vector<std::string> argv = {FSCHED_WORKER_BIN, "--node_id",           id,
                                     "--slots",         std::to_string(slots), "--listen",
                                     "127.0.0.1:0",     "--port_file",         port_file,
                                     "--state_dir",     dir_ + "/worker-state"};
    if (!token.empty()) argv.insert(argv.end(), {"--join_token_file", TokenFile(id, token)});
    argv.insert(argv.end(), worker_flags_.begin(), worker_flags_.end());
    const std::string target = master.empty() ? master_address_ : master;
    if (target != "none") argv.insert(argv.end(), {"--master", target});
    auto process = Process::Start(argv, dir_ + "/" + id + ".log");
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    auto port = testing::WaitForPortFile(port_file, process->get());
    EXPECT_TRUE(port.ok()) << port.status();
    worker_ports_[id] = port.ok() ? *port : 0;
    workers_[id] = std::move(*process);
    return workers_[id].get();
  }

  std::vector<v1::WorkerInfo> ListWorkers() {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::ListWorkersResponse resp;
    EXPECT_TRUE(cluster_->ListWorkers(&ctx, v1::ListWorkersRequest(), &resp).ok());
    return {resp.workers().begin(), resp.workers().end()};
  }

  // Waits until exactly the named workers are READY.
  void WaitForReady(const std::vector<std::string>& ids,
                    absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      size_t ready = 0;
      for (const auto& w : ListWorkers()) {
        if (w.state() == v1::WORKER_STATE_READY &&
            std::find(ids.begin(), ids.end(), w.id()) != ids.end()) {
          ++ready;
        }
      }
      if (ready == ids.size()) return;
      absl::SleepFor(absl::Milliseconds(20));
    }
    FAIL() << "workers did not become ready; master log:\n"
           << testing::ReadFile(dir_ + "/master.log");
  }

  grpc::Status Register(const std::string& name, std::vector<std::string> command,
                        absl::Duration timeout = absl::ZeroDuration(),
                        v1::Function* out = nullptr) {
    v1::RegisterFunctionRequest req;
    req.mutable_spec()->set_name(name);
    for (auto& c : command) req.mutable_spec()->add_command(c);
    if (timeout > absl::ZeroDuration()) {
      ToProto(timeout, req.mutable_spec()->mutable_limits()->mutable_timeout());
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::Function resp;
    grpc::Status status = controller_->RegisterFunction(&ctx, req, &resp);
    if (out) *out = resp;
    return status;
  }

  grpc::Status Invoke(const std::string& function, const std::string& payload,
                      v1::InvocationResult* result) {
    v1::InvokeRequest req;
    req.set_function(function);
    req.set_payload(payload);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    return controller_->Invoke(&ctx, req, result);
  }

  std::string Submit(const std::string& function, const std::string& payload = "") {
    v1::InvokeRequest req;
    req.set_function(function);
    req.set_payload(payload);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::SubmitResponse resp;
    grpc::Status status = controller_->Submit(&ctx, req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.invocation_id();
  }

  v1::Invocation Wait(const std::string& id, absl::Duration timeout = absl::Seconds(30)) {
    v1::WaitInvocationRequest req;
    req.set_invocation_id(id);
    ToProto(timeout, req.mutable_timeout());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout + absl::Seconds(10)));
    v1::Invocation resp;
    grpc::Status status = controller_->WaitInvocation(&ctx, req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  // fschedctl against this master: its exit code and what it printed.
  struct CtlRun {
    int code = -1;
    std::string output;  // stdout and stderr together
  };
  CtlRun Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {FSCHED_CTL_BIN, "--master", master_address_});
    const std::string log = dir_ + "/ctl-" + std::to_string(++ctl_runs_) + ".log";
    auto process = Process::Start(args, log);
    EXPECT_TRUE(process.ok());
    CtlRun run;
    if (!process.ok()) return run;
    run.code = (*process)->Wait(absl::Seconds(30)).value_or(-1);
    run.output = testing::ReadFile(log);
    return run;
  }

  std::string dir_;
  std::string master_listen_ = "127.0.0.1:0";  // a restarted master may take its old port
  std::string cluster_extra_;                  // more cluster keys, each ", key: value"
  int ctl_runs_ = 0;
  std::unique_ptr<Process> master_;
  std::string master_address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Controller::Stub> controller_;
  std::unique_ptr<v1::Cluster::Stub> cluster_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::map<std::string, std::unique_ptr<Process>> workers_;
  std::map<std::string, int> worker_ports_;
  std::vector<std::string> worker_flags_;  // added to every worker's command line
};

}  // namespace fsched
