// Sends a request on to another fsched node: Controller.Invoke on a master,
// Worker.Invoke on a worker, asynchronously (no thread waits on it; a
// unary reactor per call, which also hears the invocation id a master sends
// when it accepts the call). With
// network emulation on, half the link's delay passes before the request
// leaves and half before its answer is handed back.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/timer_queue.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "fsched/v1/worker.grpc.pb.h"
#include "routing/topology.h"

namespace fsched::routing {

/// Trailing metadata of a worker's answer to a request another node handed
/// it: how busy the worker was as the request arrived ("1.500": its running
/// and waiting calls over its slots), so the sender stops handing it more while
/// it is full.
inline constexpr char kLoadTrailer[] = "fsched-load";

class Forwarder {
 public:
  /// `target_load`: what the target said in kLoadTrailer, if it did.
  using Done = std::function<void(const grpc::Status&, v1::InvocationResult,
                                  std::optional<double> target_load)>;

  Forwarder(LinkDelays delays, TimerQueue* timers) : delays_(std::move(delays)), timers_(timers) {}
  /// Cancels what is in flight and waits until every call's state is gone:
  /// a call's context holds its channel, and the last reference to a channel
  /// must not drop on gRPC's own callback thread (gRPC 1.51 aborts there).
  ~Forwarder();

  /// Calls `done` exactly once (UNAVAILABLE after Shutdown). When the call
  /// fails after the target accepted it (it sent the invocation id in its
  /// initial metadata), the result handed back carries that id and the
  /// error says where to wait on it.
  void Forward(const NodeRef& target, v1::InvokeRequest request, absl::Time deadline, Done done);
  /// Cancels forwards in flight; later ones fail at once.
  void Shutdown();
  /// Waits (at most `timeout`) until no forward is in flight or being answered,
  /// so the owner can be destroyed after it.
  void WaitIdle(absl::Duration timeout);

 private:
  struct Call;
  struct Stubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::Controller::Stub> controller;
    std::unique_ptr<v1::Worker::Stub> worker;
  };
  Stubs* StubsFor(const std::string& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(std::shared_ptr<Call> call);
  void Answer(std::shared_ptr<Call> call, const grpc::Status& status);

  const LinkDelays delays_;
  TimerQueue* const timers_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Stubs> stubs_ ABSL_GUARDED_BY(mu_);
  std::set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  int answering_ ABSL_GUARDED_BY(mu_) = 0;   // sent and not yet handed back
  int live_calls_ ABSL_GUARDED_BY(mu_) = 0;  // Call objects not yet destroyed
};

/// Whether a forward's failure means "try another target" (it never reached a
/// node able to serve it, or that node was full or went away) rather than an
/// answer about the request itself.
bool TryElsewhere(const grpc::Status& status);

}  // namespace fsched::routing
