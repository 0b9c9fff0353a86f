#include "routing/forwarder.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/rpc.h"

namespace fsched::routing {

// Counts a call from its creation until its last member is gone: declared
// first in Call, so it is destroyed last, after the context and its channel.
class LiveCall {
 public:
  LiveCall(absl::Mutex* mu, int* live) : mu_(mu), live_(live) {
    absl::MutexLock lock(mu_);
    ++*live_;
  }
  ~LiveCall() {
    absl::MutexLock lock(mu_);
    --*live_;
  }
  LiveCall(const LiveCall&) = delete;
  LiveCall& operator=(const LiveCall&) = delete;

 private:
  absl::Mutex* const mu_;
  int* const live_;
};

struct Forwarder::Call : public grpc::ClientUnaryReactor {
  Call(absl::Mutex* mu, int* live) : live(mu, live) {}
  // A master that accepted the call says so before it runs it.
  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;
    const auto& metadata = context.GetServerInitialMetadata();
    if (auto it = metadata.find(kInvocationIdHeader); it != metadata.end()) {
      accepted_id.assign(it->second.data(), it->second.size());
    }
  }
  void OnDone(const grpc::Status& status) override {
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto it = trailers.find(kLoadTrailer); it != trailers.end()) {
      double load = 0;
      if (absl::SimpleAtod(absl::string_view(it->second.data(), it->second.size()), &load)) {
        target_load = load;
      }
    }
    std::shared_ptr<Call> call = std::move(self);  // the last reference may be this one
    forwarder->Answer(call, status);
  }
  LiveCall live;
  Forwarder* forwarder = nullptr;
  std::shared_ptr<Call> self;  // alive while gRPC holds the reactor
  NodeRef target;
  v1::InvokeRequest request;
  v1::InvocationResult result;
  grpc::ClientContext context;
  absl::Time deadline;
  absl::Duration half_delay;
  std::string accepted_id;            // written before OnDone, read after
  std::optional<double> target_load;  // likewise
  Done done;
};

bool TryElsewhere(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:         // unreachable, or shut down mid-call
    case grpc::StatusCode::CANCELLED:           // the target's server cancelled it (stopping)
    case grpc::StatusCode::UNIMPLEMENTED:       // not a node that routes
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // its queue is full
      return true;
    default:
      return false;
  }
}

Forwarder::Stubs* Forwarder::StubsFor(const std::string& address) {
  auto [it, inserted] = stubs_.try_emplace(address);
  if (inserted) {
    it->second.channel = MakeChannel(address);
    it->second.controller = v1::Controller::NewStub(it->second.channel);
    it->second.worker = v1::Worker::NewStub(it->second.channel);
  }
  return &it->second;
}

void Forwarder::Forward(const NodeRef& target, v1::InvokeRequest request, absl::Time deadline,
                        Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "this node is shutting down"),
           v1::InvocationResult(), std::nullopt);
      return;
    }
  }
  auto call = std::make_shared<Call>(&mu_, &live_calls_);
  call->target = target;
  call->request = std::move(request);
  call->deadline = deadline;
  call->half_delay = delays_.To(target) / 2;
  call->done = std::move(done);
  if (call->half_delay <= absl::ZeroDuration()) {
    Send(std::move(call));
    return;
  }
  timers_->RunAt(absl::Now() + call->half_delay, [this, call] { Send(call); });
}

void Forwarder::Send(std::shared_ptr<Call> call) {
  Stubs* stubs = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stubs = StubsFor(call->target.address);
      in_flight_.insert(&call->context);
      ++answering_;
    }
  }
  if (stubs == nullptr) {
    call->done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "this node is shutting down"),
               v1::InvocationResult(), std::nullopt);
    return;
  }
  call->context.set_deadline(absl::ToChronoTime(call->deadline));
  call->forwarder = this;
  Call* reactor = call.get();
  reactor->self = std::move(call);
  if (reactor->target.role == NodeRole::kWorker) {
    stubs->worker->async()->Invoke(&reactor->context, &reactor->request, &reactor->result, reactor);
  } else {
    stubs->controller->async()->Invoke(&reactor->context, &reactor->request, &reactor->result,
                                       reactor);
  }
  reactor->StartCall();
}

void Forwarder::Answer(std::shared_ptr<Call> call, const grpc::Status& status) {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    in_flight_.erase(&call->context);
    stopping = stopping_;
  }
  grpc::Status answer = status;
  if (!status.ok()) {
    const std::string& id = call->accepted_id;
    answer = grpc::Status(
        status.error_code(),
        absl::StrCat(RoleName(call->target.role), " ", call->target.id, " (", call->target.address,
                     "): ", status.error_message(),
                     id.empty() ? ""
                                : absl::StrCat(" (it had accepted it as invocation ", id,
                                               ": wait on it there, fschedctl --master ",
                                               call->target.address, " wait ", id, ")")));
    call->result.Clear();
    call->result.set_invocation_id(id);
  }
  auto hand_back = [this, call, answer] {
    call->done(answer, std::move(call->result), call->target_load);
    absl::MutexLock lock(&mu_);
    --answering_;
  };
  if (stopping || call->half_delay <= absl::ZeroDuration()) {
    hand_back();
    return;
  }
  timers_->RunAt(absl::Now() + call->half_delay, std::move(hand_back));
}

Forwarder::~Forwarder() {
  Shutdown();
  WaitIdle(absl::Seconds(5));
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(
                           +[](int* n) { return *n == 0; }, &live_calls_),
                       absl::Seconds(5));
}

void Forwarder::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(
                           +[](int* n) { return *n == 0; }, &answering_),
                       timeout);
}

void Forwarder::Shutdown() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (grpc::ClientContext* context : in_flight_) context->TryCancel();
}

}  // namespace fsched::routing
