#include "master/worker_link_service.h"

#include <deque>
#include <fstream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/grpc_status.h"
#include "common/log.h"

namespace fsched::master {
namespace {

using Reactor = grpc::ServerBidiReactor<v1::WorkerMessage, v1::MasterMessage>;

// The sending half of a stream, shared with the cluster manager. It keeps one
// write in flight and queues the rest; Finish waits for the queue to drain.
// Reactor operations are started without holding mu_ (gRPC may run the next
// reaction inline), and the reactor pointer is never used after Finish.
class LinkStream final : public WorkerStream, public std::enable_shared_from_this<LinkStream> {
 public:
  explicit LinkStream(Reactor* reactor) : reactor_(reactor) {}

  // From now on each message waits `delay` on `timers` before it is written
  // (an emulated link; the order is kept, the delay being the same for all).
  // A message still on its way when the stream closes is lost with the link.
  void set_delay(absl::Duration delay, TimerQueue* timers) {
    absl::MutexLock lock(&mu_);
    delay_ = delay;
    timers_ = timers;
  }

  void Send(const v1::MasterMessage& message) override {
    absl::Duration delay;
    TimerQueue* timers = nullptr;
    {
      absl::MutexLock lock(&mu_);
      delay = delay_;
      timers = timers_;
    }
    if (timers == nullptr || delay <= absl::ZeroDuration()) {
      SendNow(message);
      return;
    }
    timers->RunAt(absl::Now() + delay, [weak = weak_from_this(), message] {
      if (auto stream = weak.lock()) stream->SendNow(message);
    });
  }

  void SendNow(const v1::MasterMessage& message) {
    const v1::MasterMessage* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_ || broken_) return;
      outbox_.push_back(message);
      if (writing_) return;
      writing_ = true;
      next = &outbox_.front();  // deque::push_back keeps references to elements valid
    }
    reactor_->StartWrite(next);
  }

  void Close(const absl::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_) return;
      finish_requested_ = true;
      finish_status_ = ToGrpcStatus(status);
      if (writing_) return;  // OnWriteDone finishes once the queue is flushed
    }
    reactor_->Finish(finish_status_);
  }

  void OnWriteDone(bool ok) {
    const v1::MasterMessage* next = nullptr;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      outbox_.pop_front();
      if (!ok) {
        broken_ = true;
        outbox_.clear();
      }
      if (!outbox_.empty()) {
        next = &outbox_.front();
      } else {
        writing_ = false;
        finish = finish_requested_;
      }
    }
    if (next) {
      reactor_->StartWrite(next);
    } else if (finish) {
      reactor_->Finish(finish_status_);
    }
  }

  bool registered() {
    absl::MutexLock lock(&mu_);
    return registered_;
  }
  void set_registered() {
    absl::MutexLock lock(&mu_);
    registered_ = true;
  }

 private:
  Reactor* const reactor_;
  absl::Mutex mu_;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  TimerQueue* timers_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::deque<v1::MasterMessage> outbox_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_;  // written once, before finish_requested_ is published
};

class ConnectReactor final : public Reactor {
 public:
  ConnectReactor(ClusterManager* cluster, Scheduler* scheduler, TimerQueue* timers,
                 absl::Duration register_timeout, WorkerJoinCallbacks* joined,
                 uint64_t max_message_bytes, const routing::LinkDelays* link_delays,
                 TimerQueue* link_timers)
      : cluster_(cluster),
        scheduler_(scheduler),
        joined_(joined),
        max_message_bytes_(max_message_bytes),
        link_delays_(link_delays),
        link_timers_(link_timers),
        stream_(std::make_shared<LinkStream>(this)) {
    std::weak_ptr<LinkStream> weak = stream_;
    timers->RunAt(absl::Now() + register_timeout, [weak] {
      if (auto stream = weak.lock(); stream && !stream->registered()) {
        stream->Close(
            absl::DeadlineExceededError("no register message within cluster.register_timeout"));
      }
    });
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The worker closed its side or the connection broke.
      stream_->Close(absl::OkStatus());
      return;
    }
    if (!Handle()) return;
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override { stream_->OnWriteDone(ok); }

  void OnDone() override {
    if (session_) cluster_->Disconnected(*session_);
    delete this;
  }

 private:
  // \return false when the stream is being closed.
  bool Handle() {
    if (!session_) {
      if (!incoming_.has_register_()) {
        stream_->Close(absl::FailedPreconditionError("the first message must be register"));
        return false;
      }
      v1::Welcome welcome;
      std::vector<InFlight> lost;
      std::vector<InFlight> unclaimed;
      auto session =
          cluster_->Register(incoming_.register_(), stream_, &welcome, &lost, &unclaimed);
      if (!session.ok()) {
        FSCHED_LOG(kWarning, "refused worker '%s': %s", incoming_.register_().worker_id(),
                   session.status().message());
        stream_->Close(session.status());
        return false;
      }
      session_ = *session;
      stream_->set_registered();
      if (link_delays_ != nullptr) {
        // Half the round trip each way, from the welcome on.
        const v1::Register& r = incoming_.register_();
        delay_ =
            link_delays_->To({r.worker_id(), r.address(), r.zone(), routing::NodeRole::kWorker}) /
            2;
        stream_->set_delay(delay_, link_timers_);
      }
      // Before the welcome: what it is left to run, it is awaited for.
      for (std::string& id : scheduler_->Adopt(session_->worker_id, unclaimed)) {
        welcome.add_awaiting(std::move(id));
      }
      welcome.set_max_message_bytes(max_message_bytes_);
      v1::MasterMessage message;
      *message.mutable_welcome() = std::move(welcome);
      stream_->Send(message);
      if (joined_ != nullptr) joined_->OnWorkerJoined(session_->worker_id);
      if (!lost.empty()) {
        FSCHED_LOG(kWarning,
                   "worker %s no longer holds %d invocations it was given (lost with a link or "
                   "a master restart): queued again",
                   session_->worker_id, lost.size());
        scheduler_->OnLost(lost);
      }
      scheduler_->OnWorkerJoined();
      return true;
    }
    if (delay_ > absl::ZeroDuration()) {
      // On the emulated link every message arrives late by the same delay, so
      // a heartbeat never overtakes a result it no longer lists. The reactor
      // may be gone by then: the callback holds what it needs.
      link_timers_->RunAt(absl::Now() + delay_,
                          [cluster = cluster_, scheduler = scheduler_, session = *session_,
                           stream = stream_, message = std::move(incoming_)]() mutable {
                            Deliver(cluster, scheduler, session, *stream, message);
                          });
      incoming_.Clear();
      return true;
    }
    return Deliver(cluster_, scheduler_, *session_, *stream_, incoming_);
  }

  // \return false when the stream is being closed.
  static bool Deliver(ClusterManager* cluster, Scheduler* scheduler,
                      const ClusterManager::Session& session, LinkStream& stream,
                      v1::WorkerMessage& message) {
    switch (message.kind_case()) {
      case v1::WorkerMessage::kHeartbeat:
        if (!cluster->Heartbeat(session, message.heartbeat()).ok()) {
          stream.Close(absl::AbortedError("this connection was replaced by a newer one"));
          return false;
        }
        return true;
      case v1::WorkerMessage::kResult:
        scheduler->OnResult(session.worker_id, std::move(*message.mutable_result()));
        return true;
      case v1::WorkerMessage::kRegister:
        stream.Close(absl::FailedPreconditionError("register sent twice on one stream"));
        return false;
      case v1::WorkerMessage::KIND_NOT_SET:
        stream.Close(absl::InvalidArgumentError("empty worker message"));
        return false;
    }
    return true;
  }

  ClusterManager* const cluster_;
  Scheduler* const scheduler_;
  WorkerJoinCallbacks* const joined_;  // may be null
  const uint64_t max_message_bytes_;
  const routing::LinkDelays* const link_delays_;  // null: real links only
  TimerQueue* const link_timers_;
  absl::Duration delay_;  // each way, once registered
  std::shared_ptr<LinkStream> stream_;
  std::optional<ClusterManager::Session> session_;  // touched only by reactions, which are serial
  v1::WorkerMessage incoming_;
};

// Streams one archive file in 1 MiB chunks, reading the next only after the
// previous one was written, so a slow worker holds one chunk in memory.
class FetchRootfsReactor final : public grpc::ServerWriteReactor<v1::RootfsChunk> {
 public:
  void Fail(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void Start(const std::string& path) {
    file_.open(path, std::ios::binary);
    if (!file_) {
      Fail(absl::InternalError(absl::StrCat("cannot read ", path)));
      return;
    }
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the worker stopped reading"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    constexpr size_t kChunk = 1 << 20;
    std::string* data = chunk_.mutable_data();
    data->resize(kChunk);
    file_.read(data->data(), static_cast<std::streamsize>(kChunk));
    data->resize(static_cast<size_t>(file_.gcount()));
    if (data->empty()) {
      Finish(file_.eof() ? grpc::Status::OK
                         : grpc::Status(grpc::StatusCode::INTERNAL, "reading the archive failed"));
      return;
    }
    StartWrite(&chunk_);
  }
  std::ifstream file_;
  v1::RootfsChunk chunk_;
};

}  // namespace

WorkerLinkService::WorkerLinkService(Options options) : options_(std::move(options)) {
  if (options_.link_delays && options_.link_delays->enabled()) {
    link_timers_ = std::make_unique<TimerQueue>();
  }
}

grpc::ServerBidiReactor<v1::WorkerMessage, v1::MasterMessage>* WorkerLinkService::Connect(
    grpc::CallbackServerContext* ctx) {
  if (absl::StatusOr<v1::Identity> caller =
          options_.gate->Admit(*ctx, "fsched.v1.WorkerLink.Connect");
      !caller.ok()) {
    return new RefusedBidiReactor<v1::WorkerMessage, v1::MasterMessage>(caller.status());
  }
  return new ConnectReactor(options_.cluster, options_.scheduler, options_.timers,
                            options_.register_timeout, options_.joined, options_.max_message_bytes,
                            options_.link_delays ? &*options_.link_delays : nullptr,
                            link_timers_.get());
}

grpc::ServerWriteReactor<v1::RootfsChunk>* WorkerLinkService::FetchRootfs(
    grpc::CallbackServerContext* ctx, const v1::FetchRootfsRequest* request) {
  absl::StatusOr<v1::Identity> caller =
      options_.gate->Admit(*ctx, "fsched.v1.WorkerLink.FetchRootfs");
  if (!caller.ok()) return new RefusedWriteReactor<v1::RootfsChunk>(caller.status());
  auto* reactor = new FetchRootfsReactor();
  // Behind the gate only the cluster's credential gets here; on an open node
  // (auth.mode: none) the request's own token is all there is to check.
  if (caller->source() == "open" && !options_.join_token.empty() &&
      request->join_token() != options_.join_token) {
    reactor->Fail(absl::UnauthenticatedError("wrong join token"));
  } else if (absl::StatusOr<std::string> path = options_.rootfs->Use(request->digest());
             !path.ok()) {
    reactor->Fail(path.status());
  } else {
    reactor->Start(*path);
  }
  return reactor;
}

}  // namespace fsched::master
