#include "tools/fsched-bench/targets.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "fsched/v1/worker.grpc.pb.h"

namespace fsched::bench {
namespace {

class GrpcInvokeTargets : public InvokeTargets {
 public:
  std::vector<std::unique_ptr<v1::Controller::Stub>> controllers;
  std::vector<std::unique_ptr<v1::Worker::Stub>> workers;

  grpc::Status Invoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest& request,
                      v1::InvocationResult* result) override {
    const size_t i = static_cast<size_t>(index) % size();
    if (!controllers.empty()) return controllers[i]->Invoke(ctx, request, result);
    return workers[i]->Invoke(ctx, request, result);
  }

  void AsyncInvoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest* request,
                   v1::InvocationResult* result, std::function<void(grpc::Status)> done) override {
    const size_t i = static_cast<size_t>(index) % size();
    if (!controllers.empty()) {
      controllers[i]->async()->Invoke(ctx, request, result, std::move(done));
    } else {
      workers[i]->async()->Invoke(ctx, request, result, std::move(done));
    }
  }

  size_t size() const override { return controllers.size() + workers.size(); }
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
