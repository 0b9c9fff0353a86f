// gRPC adapter for fsched.v1.Controller over master::Controller.
#pragma once

#include "common/auth.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "master/controller.h"
#include "master/rootfs_store.h"
#include "master/task_flow.h"
#include "routing/router.h"

namespace fsched::master {

class ControllerService final : public v1::Controller::CallbackService {
 public:
  ControllerService(const Gate* gate, Controller* controller, const RootfsStore* rootfs,
                    TaskFlow* tasks)
      : gate_(gate), controller_(controller), rootfs_(rootfs), tasks_(tasks) {}

  /// Invoke goes through this router (architectures, offload); null = always here.
  void set_router(routing::Router* router) { router_ = router; }
  /// A zone master: functions are registered at the master `parent` and
  /// mirrored here, so registering or deleting here is refused.
  void set_mirrors(std::string parent) { mirrors_ = std::move(parent); }

  grpc::ServerUnaryReactor* RegisterFunction(grpc::CallbackServerContext* ctx,
                                             const v1::RegisterFunctionRequest* request,
                                             v1::Function* response) override;
  grpc::ServerUnaryReactor* GetFunction(grpc::CallbackServerContext* ctx,
                                        const v1::GetFunctionRequest* request,
                                        v1::Function* response) override;
  grpc::ServerUnaryReactor* ListFunctions(grpc::CallbackServerContext* ctx,
                                          const v1::ListFunctionsRequest* request,
                                          v1::ListFunctionsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteFunction(grpc::CallbackServerContext* ctx,
                                           const v1::DeleteFunctionRequest* request,
                                           v1::DeleteFunctionResponse* response) override;
  grpc::ServerReadReactor<v1::UploadRootfsChunk>* UploadRootfs(grpc::CallbackServerContext* ctx,
                                                               v1::Rootfs* response) override;
  grpc::ServerUnaryReactor* ListRootfs(grpc::CallbackServerContext* ctx,
                                       const v1::ListRootfsRequest* request,
                                       v1::ListRootfsResponse* response) override;
  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* ctx,
                                   const v1::InvokeRequest* request,
                                   v1::InvocationResult* response) override;
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx,
                                   const v1::InvokeRequest* request,
                                   v1::SubmitResponse* response) override;
  grpc::ServerUnaryReactor* GetInvocation(grpc::CallbackServerContext* ctx,
                                          const v1::GetInvocationRequest* request,
                                          v1::Invocation* response) override;
  grpc::ServerUnaryReactor* WaitInvocation(grpc::CallbackServerContext* ctx,
                                           const v1::WaitInvocationRequest* request,
                                           v1::Invocation* response) override;
  grpc::ServerUnaryReactor* CancelInvocation(grpc::CallbackServerContext* ctx,
                                             const v1::CancelInvocationRequest* request,
                                             v1::Invocation* response) override;
  grpc::ServerReadReactor<v1::UploadTaskChunk>* UploadTask(grpc::CallbackServerContext* ctx,
                                                           v1::Task* response) override;
  grpc::ServerUnaryReactor* BenchmarkTask(grpc::CallbackServerContext* ctx,
                                          const v1::BenchmarkTaskRequest* request,
                                          v1::BenchmarkTaskResponse* response) override;
  grpc::ServerUnaryReactor* RunTask(grpc::CallbackServerContext* ctx,
                                    const v1::RunTaskRequest* request,
                                    v1::RunTaskResponse* response) override;

 private:
  const Gate* const gate_;
  Controller* const controller_;
  const RootfsStore* const rootfs_;
  TaskFlow* const tasks_;
  routing::Router* router_ = nullptr;
  std::string mirrors_;
};

}  // namespace fsched::master
