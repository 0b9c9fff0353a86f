#include "master/controller_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/grpc_status.h"
#include "common/proto_time.h"

namespace fsched::master {
namespace {

absl::Status MirroredHere(const std::string& parent) {
  return absl::FailedPreconditionError(
      absl::StrCat("this is a zone master: functions are registered at the master ", parent,
                   " and mirrored to every zone"));
}

// What both archive uploads share: an upload into the store, begun once the
// derived reactor is fully built (a read may complete on another thread), the
// end of the stream told apart from a cancellation, and the reactor's own
// deletion.
template <typename Chunk>
class ArchiveUploadReactor : public grpc::ServerReadReactor<Chunk> {
 public:
  void OnDone() override { delete this; }

 protected:
  explicit ArchiveUploadReactor(grpc::CallbackServerContext* ctx) : ctx_(ctx) {}

  // A read that fails ends the stream both when the client finished sending
  // and when it cancelled (or its connection broke); only the first is a whole
  // archive. (gRPC marks the call cancelled before that read completes.)
  bool Cancelled() {
    if (!ctx_->IsCancelled()) return false;
    this->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                              "the upload was cancelled before it ended; nothing was kept"));
    return true;
  }

  void Begin(const RootfsStore* store) {
    absl::StatusOr<std::unique_ptr<RootfsStore::Upload>> upload = store->Begin();
    if (!upload.ok()) {
      this->Finish(ToGrpcStatus(upload.status()));
      return;
    }
    upload_ = std::move(*upload);
    this->StartRead(&chunk_);
  }

  grpc::CallbackServerContext* const ctx_;
  std::unique_ptr<RootfsStore::Upload> upload_;
  Chunk chunk_;
};

// Streams one archive into the store: each chunk is hashed and written as it
// arrives; the archive exists only once the client has sent everything and the
// digest checks out.
class UploadRootfsReactor final : public ArchiveUploadReactor<v1::UploadRootfsChunk> {
 public:
  UploadRootfsReactor(grpc::CallbackServerContext* ctx, const RootfsStore* store,
                      v1::Rootfs* response)
      : ArchiveUploadReactor(ctx), response_(response) {
    Begin(store);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending, or cancelled
      if (Cancelled()) return;
      absl::StatusOr<v1::Rootfs> stored = upload_->Commit();
      if (stored.ok()) *response_ = std::move(*stored);
      Finish(ToGrpcStatus(stored.status()));
      return;
    }
    absl::Status s = absl::OkStatus();
    if (!chunk_.digest().empty()) s = upload_->Expect(chunk_.digest());
    if (s.ok()) s = upload_->Append(chunk_.data());
    if (!s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    StartRead(&chunk_);
  }

 private:
  v1::Rootfs* const response_;
};

// A task archive: the name in the first chunk, the bytes a tar archive (its
// "ustar" magic at offset 257 is checked before anything is kept).
class UploadTaskReactor final : public ArchiveUploadReactor<v1::UploadTaskChunk> {
 public:
  UploadTaskReactor(grpc::CallbackServerContext* ctx, const RootfsStore* store, TaskFlow* tasks,
                    v1::Task* response)
      : ArchiveUploadReactor(ctx), tasks_(tasks), response_(response) {
    Begin(store);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending, or cancelled
      if (Cancelled()) return;
      absl::Status s = CheckTar(true);
      absl::StatusOr<v1::Rootfs> stored =
          s.ok() ? upload_->Commit() : absl::StatusOr<v1::Rootfs>(s);
      absl::StatusOr<v1::Task> task =
          stored.ok() ? tasks_->Create(name_, *stored) : absl::StatusOr<v1::Task>(stored.status());
      if (task.ok()) *response_ = std::move(*task);
      Finish(ToGrpcStatus(task.status()));
      return;
    }
    if (first_) name_ = chunk_.name();
    first_ = false;
    if (head_.size() < kTarHead) head_.append(chunk_.data().substr(0, kTarHead - head_.size()));
    absl::Status s = CheckTar(false);
    if (s.ok()) s = upload_->Append(chunk_.data());
    if (!s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    StartRead(&chunk_);
  }

 private:
  static constexpr size_t kTarHead = 263;
  absl::Status CheckTar(bool complete) const {
    if (head_.size() < kTarHead && !complete) return absl::OkStatus();
    if (head_.size() >= kTarHead && head_.compare(257, 5, "ustar") == 0) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "a task is a tar archive of its files (tar -C DIR -cf task.tar .); this upload is not one");
  }

  TaskFlow* const tasks_;
  v1::Task* const response_;
  bool first_ = true;
  std::string name_;
  std::string head_;
};

}  // namespace

grpc::ServerReadReactor<v1::UploadTaskChunk>* ControllerService::UploadTask(
    grpc::CallbackServerContext* ctx, v1::Task* response) {
  if (absl::StatusOr<v1::Identity> caller = gate_->Admit(*ctx, "fsched.v1.Controller.UploadTask");
      !caller.ok()) {
    return new RefusedReadReactor<v1::UploadTaskChunk>(caller.status());
  }
  return new UploadTaskReactor(ctx, rootfs_, tasks_, response);
}

grpc::ServerUnaryReactor* ControllerService::BenchmarkTask(grpc::CallbackServerContext* ctx,
                                                           const v1::BenchmarkTaskRequest* request,
                                                           v1::BenchmarkTaskResponse* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.BenchmarkTask")) return refused;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status started = tasks_->Benchmark(
      *request, [reactor, response](absl::StatusOr<v1::BenchmarkTaskResponse> done) {
        if (done.ok()) *response = std::move(*done);
        reactor->Finish(ToGrpcStatus(done.status()));
      });
  if (!started.ok()) reactor->Finish(ToGrpcStatus(started));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::RunTask(grpc::CallbackServerContext* ctx,
                                                     const v1::RunTaskRequest* request,
                                                     v1::RunTaskResponse* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.RunTask")) return refused;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status started =
      tasks_->Run(*request, [reactor, response](absl::StatusOr<v1::RunTaskResponse> done) {
        if (done.ok()) *response = std::move(*done);
        reactor->Finish(ToGrpcStatus(done.status()));
      });
  if (!started.ok()) reactor->Finish(ToGrpcStatus(started));
  return reactor;
}

grpc::ServerReadReactor<v1::UploadRootfsChunk>* ControllerService::UploadRootfs(
    grpc::CallbackServerContext* ctx, v1::Rootfs* response) {
  if (absl::StatusOr<v1::Identity> caller = gate_->Admit(*ctx, "fsched.v1.Controller.UploadRootfs");
      !caller.ok()) {
    return new RefusedReadReactor<v1::UploadRootfsChunk>(caller.status());
  }
  return new UploadRootfsReactor(ctx, rootfs_, response);
}

grpc::ServerUnaryReactor* ControllerService::ListRootfs(grpc::CallbackServerContext* ctx,
                                                        const v1::ListRootfsRequest*,
                                                        v1::ListRootfsResponse* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.ListRootfs")) return refused;
  for (v1::Rootfs& r : rootfs_->List()) *response->add_archives() = std::move(r);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ControllerService::RegisterFunction(
    grpc::CallbackServerContext* ctx, const v1::RegisterFunctionRequest* request,
    v1::Function* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.RegisterFunction")) return refused;
  if (!mirrors_.empty()) return FinishUnary(ctx, MirroredHere(mirrors_));
  return FinishWith(ctx, controller_->RegisterFunction(*request), response);
}

grpc::ServerUnaryReactor* ControllerService::GetFunction(grpc::CallbackServerContext* ctx,
                                                         const v1::GetFunctionRequest* request,
                                                         v1::Function* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.GetFunction")) return refused;
  return FinishWith(ctx, controller_->GetFunction(request->name()), response);
}

grpc::ServerUnaryReactor* ControllerService::ListFunctions(grpc::CallbackServerContext* ctx,
                                                           const v1::ListFunctionsRequest*,
                                                           v1::ListFunctionsResponse* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.ListFunctions")) return refused;
  for (v1::Function& f : controller_->ListFunctions()) *response->add_functions() = std::move(f);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ControllerService::DeleteFunction(
    grpc::CallbackServerContext* ctx, const v1::DeleteFunctionRequest* request,
    v1::DeleteFunctionResponse*) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.DeleteFunction")) return refused;
  if (!mirrors_.empty()) return FinishUnary(ctx, MirroredHere(mirrors_));
  return FinishUnary(ctx, controller_->DeleteFunction(request->name()));
}

namespace {

// A synchronous Invoke: its id goes out in the initial metadata once the
// call is accepted, unless its result came first (then the call is over).
class InvokeCall {
 public:
  explicit InvokeCall(grpc::CallbackServerContext* ctx)
      : ctx_(ctx), reactor_(ctx->DefaultReactor()) {}
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }
  void Accepted(const std::string& id) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    ctx_->AddInitialMetadata(kInvocationIdHeader, id);
    reactor_->StartSendInitialMetadata();
  }
  void Finish(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    reactor_->Finish(ToGrpcStatus(status, ctx_));
  }

 private:
  grpc::CallbackServerContext* const ctx_;
  grpc::ServerUnaryReactor* const reactor_;
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerUnaryReactor* ControllerService::Invoke(grpc::CallbackServerContext* ctx,
                                                    const v1::InvokeRequest* request,
                                                    v1::InvocationResult* response) {
  if (auto* refused = RefuseInvocation(*gate_, ctx, "fsched.v1.Controller.Invoke", *request)) {
    return refused;
  }
  auto call = std::make_shared<InvokeCall>(ctx);
  const auto accepted = [call](const std::string& id) { call->Accepted(id); };
  if (router_ != nullptr) {
    router_->Route(
        *request, routing::RoutingDeadline(*ctx),
        [call, response](absl::StatusOr<v1::InvocationResult> result) {
          if (result.ok()) *response = std::move(*result);
          call->Finish(result.status());
        },
        accepted);
    return call->reactor();
  }
  // The response and reactor stay valid until Finish; the callback runs exactly once.
  Controller* controller = controller_;
  controller_->SubmitAsync(
      *request,
      [call, response, controller](const v1::Invocation& done) {
        if (done.state() != v1::INVOCATION_STATE_DONE) {
          // Released unfinished: the master is stopping.
          call->Finish(absl::UnavailableError(controller->StoppedBefore(done.id())));
          return;
        }
        *response = done.result();
        call->Finish(absl::OkStatus());
      },
      [call](absl::StatusOr<std::string> id) {
        if (id.ok()) return call->Accepted(*id);
        call->Finish(id.status());
      });
  return call->reactor();
}

grpc::ServerUnaryReactor* ControllerService::Submit(grpc::CallbackServerContext* ctx,
                                                    const v1::InvokeRequest* request,
                                                    v1::SubmitResponse* response) {
  if (auto* refused = RefuseInvocation(*gate_, ctx, "fsched.v1.Controller.Submit", *request)) {
    return refused;
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->SubmitAsync(*request, nullptr,
                           [reactor, response, ctx](absl::StatusOr<std::string> id) {
                             if (id.ok()) response->set_invocation_id(*id);
                             reactor->Finish(ToGrpcStatus(id.status(), ctx));
                           });
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::GetInvocation(grpc::CallbackServerContext* ctx,
                                                           const v1::GetInvocationRequest* request,
                                                           v1::Invocation* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.GetInvocation")) return refused;
  return FinishWith(ctx, controller_->GetInvocation(request->invocation_id()), response);
}

grpc::ServerUnaryReactor* ControllerService::WaitInvocation(
    grpc::CallbackServerContext* ctx, const v1::WaitInvocationRequest* request,
    v1::Invocation* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.WaitInvocation")) return refused;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status waiting =
      controller_->WaitInvocation(request->invocation_id(), FromProto(request->timeout()),
                                  [reactor, response](const v1::Invocation& inv) {
                                    *response = inv;
                                    reactor->Finish(grpc::Status::OK);
                                  });
  if (!waiting.ok()) reactor->Finish(ToGrpcStatus(waiting));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::CancelInvocation(
    grpc::CallbackServerContext* ctx, const v1::CancelInvocationRequest* request,
    v1::Invocation* response) {
  if (auto* refused = Refuse(*gate_, ctx, "fsched.v1.Controller.CancelInvocation")) return refused;
  return FinishWith(ctx, controller_->CancelInvocation(request->invocation_id()), response);
}

}  // namespace fsched::master
