#include "tools/fsched-bench/targets.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "fsched/v1/worker.grpc.pb.h"

namespace fsched::bench {
namespace {

// Answers come through one completion queue drained by one thread, which also
// sends a closed-loop user's next call from the answer's callback. gRPC's
// callback API would hand every completion between its own threads (4 context
// switches per call in the driver, against 1 here), and the driver shares the
// machine with the cluster it measures.
class GrpcInvokeTargets : public InvokeTargets {
 public:
  std::vector<std::unique_ptr<v1::Controller::Stub>> controllers;
  std::vector<std::unique_ptr<v1::Worker::Stub>> workers;

  GrpcInvokeTargets() : answers_thread_([this] { DeliverAnswers(); }) {}

  // Calls still in flight are answered first: their contexts carry deadlines.
  ~GrpcInvokeTargets() override {
    answers_.Shutdown();
    answers_thread_.join();
  }

  grpc::Status Invoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest& request,
                      v1::InvocationResult* result) override {
    const size_t i = static_cast<size_t>(index) % size();
    if (!controllers.empty()) return controllers[i]->Invoke(ctx, request, result);
    return workers[i]->Invoke(ctx, request, result);
  }

  void AsyncInvoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest* request,
                   v1::InvocationResult* result, std::function<void(grpc::Status)> done) override {
    const size_t i = static_cast<size_t>(index) % size();
    auto* call = new Pending{std::move(done), {}, nullptr};
    call->reader = !controllers.empty() ? controllers[i]->AsyncInvoke(ctx, *request, &answers_)
                                        : workers[i]->AsyncInvoke(ctx, *request, &answers_);
    call->reader->Finish(result, &call->status, call);
  }

  size_t size() const override { return controllers.size() + workers.size(); }

 private:
  struct Pending {
    std::function<void(grpc::Status)> done;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::InvocationResult>> reader;
  };

  void DeliverAnswers() {
    void* tag = nullptr;
    bool ok = false;
    // Finish always completes with ok == true; the call's outcome is its status.
    while (answers_.Next(&tag, &ok)) {
      std::unique_ptr<Pending> call(static_cast<Pending*>(tag));
      call->done(std::move(call->status));
    }
  }

  grpc::CompletionQueue answers_;
  std::thread answers_thread_;
};

}  // namespace

absl::Status CheckHostPort(const std::string& address) {
  if (address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not host:port"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<InvokeTargets>> GrpcTargets(
    const std::string& entry, const std::vector<std::string>& addresses) {
  if (entry != "master" && entry != "worker") {
    return absl::InvalidArgumentError(
        absl::StrCat("--entry '", entry, "' is not master or worker"));
  }
  if (addresses.empty()) return absl::InvalidArgumentError("no address to send calls to");
  auto t = std::make_unique<GrpcInvokeTargets>();
  for (const std::string& address : addresses) {
    if (absl::Status ok = CheckHostPort(address); !ok.ok()) return ok;
    auto channel = MakeChannel(address);
    if (entry == "master") {
      t->controllers.push_back(v1::Controller::NewStub(channel));
    } else {
      t->workers.push_back(v1::Worker::NewStub(channel));
    }
  }
  return t;
}

}  // namespace fsched::bench
