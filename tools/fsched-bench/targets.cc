#include "tools/fsched-bench/targets.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"

namespace fsched::bench {

absl::StatusOr<std::unique_ptr<InvokeTargets>> InvokeTargets::Create(
    const std::string& entry, const std::vector<std::string>& addresses) {
  if (entry != "master" && entry != "worker") {
    return absl::InvalidArgumentError(
        absl::StrCat("--entry '", entry, "' is not master or worker"));
  }
  if (addresses.empty()) return absl::InvalidArgumentError("no address to send calls to");
  std::unique_ptr<InvokeTargets> t(new InvokeTargets());
  for (const std::string& address : addresses) {
    if (address.find(':') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not host:port"));
    }
    auto channel = MakeChannel(address);
    if (entry == "master") {
      t->controllers_.push_back(v1::Controller::NewStub(channel));
    } else {
      t->workers_.push_back(v1::Worker::NewStub(channel));
    }
  }
  return t;
}

grpc::Status InvokeTargets::Invoke(int index, grpc::ClientContext* ctx,
                                   const v1::InvokeRequest& request, v1::InvocationResult* result) {
  const size_t i = static_cast<size_t>(index) % size();
  if (!controllers_.empty()) return controllers_[i]->Invoke(ctx, request, result);
  return workers_[i]->Invoke(ctx, request, result);
}

void InvokeTargets::AsyncInvoke(int index, grpc::ClientContext* ctx,
                                const v1::InvokeRequest* request, v1::InvocationResult* result,
                                std::function<void(grpc::Status)> done) {
  const size_t i = static_cast<size_t>(index) % size();
  if (!controllers_.empty()) {
    controllers_[i]->async()->Invoke(ctx, request, result, std::move(done));
  } else {
    workers_[i]->async()->Invoke(ctx, request, result, std::move(done));
  }
}

}  // namespace fsched::bench
