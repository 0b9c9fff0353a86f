#include "worker/master_link.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/rpc.h"
#include "common/thread_name.h"

namespace fsched::worker {

MasterLink::MasterLink(Options options, Executor* executor, MasterLinkCallbacks* worker)
    : options_(std::move(options)), executor_(executor), worker_(worker) {}

void MasterLink::Start(const std::string& worker_id, const std::string& own_address) {
  {
    absl::MutexLock lock(&mu_);
    worker_id_ = worker_id;
    own_address_ = own_address;
  }
  run_thread_ = std::thread([this] { Run(); });
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
}

MasterLink::~MasterLink() { Join(); }

void MasterLink::Join() {
  Stop();
  if (run_thread_.joinable()) run_thread_.join();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
}

std::string MasterLink::worker_id() const {
  absl::MutexLock lock(&mu_);
  return worker_id_;
}

void MasterLink::Stop() {
  absl::MutexLock lock(&mu_);
  stop_ = true;
  if (context_) context_->TryCancel();
}

absl::Status MasterLink::SetMaster(const std::string& address, const std::string& join_token,
                                   bool move) {
  absl::MutexLock lock(&mu_);
  if (!move && !master_address_.empty() && connected_ && master_address_ != address) {
    return absl::FailedPreconditionError(
        absl::StrCat("this worker is a member of the master at ", master_address_,
                     "; remove it there before adding it elsewhere"));
  }
  if (master_address_ == address && join_token_ == join_token && connected_) {
    return absl::OkStatus();
  }
  master_address_ = address;
  join_token_ = join_token;
  retarget_ = true;
  if (context_) context_->TryCancel();
  return absl::OkStatus();
}

bool MasterLink::connected() const {
  absl::MutexLock lock(&mu_);
  return connected_;
}

absl::Status MasterLink::FetchRootfs(const std::string& digest, const std::string& path) {
  std::string address, token;
  {
    absl::MutexLock lock(&mu_);
    address = master_address_;
    token = join_token_;
  }
  if (address.empty()) return absl::FailedPreconditionError("this worker has no master");
  auto stub = v1::WorkerLink::NewStub(MakeChannel(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(10)));
  v1::FetchRootfsRequest request;
  request.set_digest(digest);
  request.set_join_token(token);
  std::unique_ptr<grpc::ClientReader<v1::RootfsChunk>> reader = stub->FetchRootfs(&ctx, request);
  std::ofstream out(path, std::ios::binary);
  v1::RootfsChunk chunk;
  while (reader->Read(&chunk)) {
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string MasterLink::master_address() const {
  absl::MutexLock lock(&mu_);
  return master_address_;
}

void MasterLink::Run() {
  NameThisThread("master-link");
  absl::BitGen rng;
  absl::Duration backoff = options_.reconnect_min;
  while (true) {
    std::string address, token;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](MasterLink* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stop_ || !self->master_address_.empty();
          },
          this));
      if (stop_) return;
      address = master_address_;
      token = join_token_;
      retarget_ = false;
    }
    const absl::Time began = absl::Now();
    const grpc::Status status = Session(address, token);
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      if (retarget_) {
        backoff = options_.reconnect_min;
        continue;  // SetMaster interrupted the session on purpose
      }
    }
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      FSCHED_LOG(kError, "master %s refused this worker: %s", address, status.error_message());
      worker_->OnRefused(absl::UnauthenticatedError(status.error_message()));
      return;
    }
    if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      FSCHED_LOG(kWarning, "%s; waiting for a Join request", status.error_message());
      absl::MutexLock lock(&mu_);
      if (master_address_ == address) master_address_.clear();
      continue;
    }
    // A session that lasted a while was healthy: start the backoff over.
    if (absl::Now() - began > absl::Seconds(10)) backoff = options_.reconnect_min;
    const absl::Duration sleep = backoff * absl::Uniform(rng, 0.5, 1.0);
    FSCHED_LOG(kWarning, "link to master %s ended (%s: %s); reconnecting in %s", address,
               std::to_string(status.error_code()), status.error_message(),
               absl::FormatDuration(sleep));
    backoff = std::min(backoff * 2, options_.reconnect_max);
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](MasterLink* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                               return self->stop_ || self->retarget_;
                             },
                             this),
                         sleep);
  }
}

grpc::Status MasterLink::Session(const std::string& address, const std::string& token) {
  auto stub = v1::WorkerLink::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  std::string worker_id, own_address;
  {
    absl::MutexLock lock(&mu_);
    if (stop_ || retarget_) return grpc::Status::CANCELLED;
    context_ = &context;
    worker_id = worker_id_;
    own_address = own_address_;
  }
  std::unique_ptr<grpc::ClientReaderWriter<v1::WorkerMessage, v1::MasterMessage>> stream =
      stub->Connect(&context);

  v1::WorkerMessage hello;
  v1::Register* reg = hello.mutable_register_();
  reg->set_worker_id(worker_id);
  reg->set_join_token(token);
  reg->set_address(own_address);
  reg->set_zone(options_.zone);
  reg->mutable_labels()->insert(options_.labels.begin(), options_.labels.end());
  *reg->mutable_capacity() = worker_->Capacity();
  for (const std::string& id : executor_->Running()) reg->add_running(id);
  {
    absl::MutexLock lock(&write_mu_);
    ListHeld(reg);
    stream_ = stream.get();
    welcomed_ = false;
    stream_->Write(hello);
  }

  // The register deadline: cancel the stream if no welcome arrives in time.
  absl::Mutex watch_mu;
  bool watch_done = false;  // guarded by watch_mu; set on welcome or stream end
  std::thread watchdog([&] {
    absl::MutexLock lock(&watch_mu);
    if (!watch_mu.AwaitWithTimeout(absl::Condition(&watch_done), options_.welcome_timeout)) {
      context.TryCancel();
    }
  });
  auto release_watchdog = [&] {
    absl::MutexLock lock(&watch_mu);
    watch_done = true;
  };

  v1::MasterMessage message;
  while (stream->Read(&message)) {
    if (message.has_welcome()) {
      release_watchdog();
      {
        absl::MutexLock lock(&mu_);
        connected_ = true;
        ++generation_;
        const absl::Duration interval = FromProto(message.welcome().heartbeat_interval());
        if (interval > absl::ZeroDuration()) heartbeat_interval_ = interval;
      }
      FSCHED_LOG(kInfo, "joined master %s as %s", address, message.welcome().worker_id());
      std::deque<v1::InvocationResult> backlog;
      std::vector<v1::InvocationResult> resends;
      {
        absl::MutexLock lock(&write_mu_);
        welcomed_ = true;
        max_message_bytes_ = message.welcome().max_message_bytes();
        backlog.swap(backlog_);
        backlog_bytes_ = 0;
        resends = TakeResends(message.welcome());
      }
      if (!resends.empty()) {
        FSCHED_LOG(kInfo, "sending %d results again: the master lost them", resends.size());
      }
      for (v1::InvocationResult& r : resends) SendResult(std::move(r));
      for (v1::InvocationResult& r : backlog) SendResult(std::move(r));
      continue;
    }
    OnMasterMessage(message);
  }
  release_watchdog();
  watchdog.join();
  {
    absl::MutexLock lock(&write_mu_);
    stream_ = nullptr;
    welcomed_ = false;
  }
  {
    absl::MutexLock lock(&mu_);
    connected_ = false;
    context_ = nullptr;
  }
  return stream->Finish();
}

void MasterLink::OnMasterMessage(v1::MasterMessage& message) {
  switch (message.kind_case()) {
    case v1::MasterMessage::kAssignment: {
      v1::Assignment assignment = std::move(*message.mutable_assignment());
      const std::string id = assignment.invocation_id();
      const uint32_t attempt = assignment.attempt();
      {
        absl::MutexLock lock(&write_mu_);
        held_[id] = attempt;
      }
      const std::string function = assignment.function().name();
      absl::Status accepted = executor_->Submit(
          std::move(assignment), [this](v1::InvocationResult r) { SendResult(std::move(r)); });
      if (!accepted.ok()) {
        v1::InvocationResult refused;
        refused.set_invocation_id(id);
        refused.set_attempts(attempt);
        refused.set_function(function);
        refused.set_outcome(v1::OUTCOME_REJECTED);
        refused.set_message(std::string(accepted.message()));
        SendResult(std::move(refused));
      }
      break;
    }
    case v1::MasterMessage::kCancel:
      executor_->Cancel(message.cancel().invocation_id());
      break;
    case v1::MasterMessage::kPrewarm:
      worker_->OnPrewarm(message.prewarm());
      break;
    case v1::MasterMessage::kEvict:
      worker_->OnEvict(message.evict());
      break;
    case v1::MasterMessage::kMembership:
      worker_->OnMembership(message.membership());
      break;
    case v1::MasterMessage::kTokens:
      worker_->OnTokens(message.tokens());
      break;
    case v1::MasterMessage::kWelcome:
    case v1::MasterMessage::KIND_NOT_SET:
      break;
  }
}

void FitResult(uint64_t max_message_bytes, v1::InvocationResult* result) {
  // Room for the WorkerMessage around the result and gRPC's framing.
  constexpr uint64_t kWrapper = 1024;
  if (max_message_bytes <= kWrapper) return;
  const uint64_t budget = max_message_bytes - kWrapper;
  if (result->ByteSizeLong() <= budget) return;
  // The longer stream gives first; stderr usually says why a call failed.
  // Measured again after each cut: the flags and the length prefixes change
  // the size by a few bytes too.
  while (result->ByteSizeLong() > budget) {
    std::string* out = result->mutable_stdout();
    std::string* err = result->mutable_stderr();
    std::string* longer = out->size() >= err->size() ? out : err;
    if (longer->empty()) break;  // nothing left to cut
    (longer == out ? result->set_stdout_truncated(true) : result->set_stderr_truncated(true));
    const uint64_t excess = result->ByteSizeLong() - budget;
    longer->resize(longer->size() - std::min<uint64_t>(excess, longer->size()));
  }
  FSCHED_LOG(kWarning, "cut the output of %s to fit the master's message limit of %d bytes",
             result->invocation_id(), max_message_bytes);
}

void MasterLink::SendResult(v1::InvocationResult result) {
  result.set_zone(options_.zone);
  v1::WorkerMessage message;
  {
    absl::MutexLock lock(&write_mu_);
    if (stream_ == nullptr || !welcomed_) {
      const uint64_t bytes = result.ByteSizeLong();
      if (backlog_.size() < options_.max_buffered_results &&
          backlog_bytes_ + bytes <= options_.max_buffered_bytes) {
        backlog_.push_back(std::move(result));
        backlog_bytes_ += bytes;
      } else {
        FSCHED_LOG(kError,
                   "dropping the result of %s (%d bytes): %d results of %d bytes already wait "
                   "for the master (worker.buffered_result_bytes); it will run again",
                   result.invocation_id(), bytes, backlog_.size(), backlog_bytes_);
        held_.erase(result.invocation_id());  // the master re-queues it when it reconnects
      }
      return;
    }
    FitResult(max_message_bytes_, &result);
    *message.mutable_result() = std::move(result);
    if (stream_->Write(message)) {
      // Written is not yet read, nor recorded: a master that restarts now
      // asks for it again (Welcome.awaiting).
      held_.erase(message.result().invocation_id());
      const absl::Time now = absl::Now();
      const uint64_t bytes = message.result().ByteSizeLong();
      sent_.push_back({now, std::move(*message.mutable_result()), bytes});
      sent_bytes_ += bytes;
      ForgetOldSentLocked(now);
      return;
    }
    // The stream broke under us; keep the result for the next connection.
    backlog_bytes_ += message.result().ByteSizeLong();
    backlog_.push_back(std::move(*message.mutable_result()));
  }
}

void MasterLink::ForgetOldSentLocked(absl::Time now) {
  while (!sent_.empty() &&
         (sent_.front().at + options_.resend_window < now || sent_bytes_ > options_.resend_bytes)) {
    sent_bytes_ -= sent_.front().bytes;
    sent_.pop_front();
  }
}

void MasterLink::ListHeld(v1::Register* registration) {
  ForgetOldSentLocked(absl::Now());
  for (const auto& [id, attempt] : held_) {
    v1::HeldInvocation* h = registration->add_held();
    h->set_invocation_id(id);
    h->set_attempt(attempt);
  }
  for (const Sent& sent : sent_) {
    v1::HeldInvocation* h = registration->add_held();
    h->set_invocation_id(sent.result.invocation_id());
    h->set_attempt(sent.result.attempts());
  }
}

std::vector<v1::InvocationResult> MasterLink::TakeResends(const v1::Welcome& welcome) {
  std::vector<v1::InvocationResult> out;
  if (welcome.awaiting().empty() || sent_.empty()) return out;
  absl::flat_hash_set<std::string> awaited(welcome.awaiting().begin(), welcome.awaiting().end());
  for (auto it = sent_.begin(); it != sent_.end();) {
    if (!awaited.contains(it->result.invocation_id())) {
      ++it;
      continue;
    }
    // Sent again through SendResult, which records it as sent once more.
    sent_bytes_ -= it->bytes;
    out.push_back(std::move(it->result));
    it = sent_.erase(it);
  }
  return out;
}

bool MasterLink::Write(const v1::WorkerMessage& message) {
  absl::MutexLock lock(&write_mu_);
  if (stream_ == nullptr || !welcomed_) return false;
  return stream_->Write(message);
}

void MasterLink::HeartbeatLoop() {
  NameThisThread("heartbeat");
  // A heartbeat goes out right after each welcome (a new generation) and then
  // every interval the master asked for.
  struct Wake {
    MasterLink* self;
    uint64_t generation;
    static bool Ready(Wake* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return w->self->stop_ || w->self->generation_ != w->generation;
    }
  };
  uint64_t seen = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      Wake wake{this, seen};
      mu_.AwaitWithTimeout(absl::Condition(&Wake::Ready, &wake), heartbeat_interval_);
      if (stop_) return;
      seen = generation_;
      if (!connected_) continue;
    }
    v1::WorkerMessage message;
    *message.mutable_heartbeat()->mutable_load() = worker_->Load();
    ToProto(absl::Now(), message.mutable_heartbeat()->mutable_sent());
    Write(message);
  }
}

}  // namespace fsched::worker
