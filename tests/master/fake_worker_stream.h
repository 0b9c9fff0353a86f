// A WorkerStream that records what the master sends, for tests without gRPC.
#pragma once

#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "master/cluster_manager.h"

namespace fsched::master::testing {

class FakeWorkerStream final : public WorkerStream {
 public:
  void Send(const v1::MasterMessage& message) override {
    absl::MutexLock lock(&mu_);
    sent_.push_back(message);
  }
  void Close(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    closed_ = status;
  }
  std::vector<v1::Assignment> Assignments() {
    absl::MutexLock lock(&mu_);
    std::vector<v1::Assignment> out;
    for (const auto& m : sent_) {
      if (m.has_assignment()) out.push_back(m.assignment());
    }
    return out;
  }
  std::vector<v1::MasterMessage> Sent() {
    absl::MutexLock lock(&mu_);
    return sent_;
  }
  std::optional<absl::Status> closed() {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::MasterMessage> sent_;
  std::optional<absl::Status> closed_;
};

inline v1::Register MakeRegister(const std::string& id, uint32_t slots,
                                 const std::string& token = "") {
  v1::Register reg;
  reg.set_worker_id(id);
  reg.set_join_token(token);
  reg.set_address(id + ":1");
  reg.mutable_capacity()->set_slots(slots);
  reg.mutable_capacity()->add_runtimes(v1::RUNTIME_KIND_PROCESS);
  return reg;
}

}  // namespace fsched::master::testing
