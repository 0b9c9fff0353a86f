// gRPC adapter for fsched.v1.Cluster over ClusterManager (and the scheduler,
// which re-queues what a force-removed worker was running).
#pragma once

#include <functional>
#include <string>

#include "common/auth.h"
#include "fsched/v1/cluster.grpc.pb.h"
#include "master/cluster_manager.h"
#include "master/scheduler.h"
#include "master/zone_directory.h"

namespace fsched::master {

/// The federation's live masters as this node knows them: its own zone
/// directory at the master, what the parent last said at a zone master.
class FederationView {
 public:
  virtual ~FederationView() = default;
  virtual v1::ZoneDirectory Directory() = 0;
};

class ClusterService final : public v1::Cluster::CallbackService {
 public:
  struct Options {
    const Gate* gate = nullptr;  // who may call
    std::string join_token;      // passed to workers asked to join
    absl::Duration add_worker_timeout = absl::Seconds(10);
    // A master keeps the zone directory; a zone master (null here)
    // refuses announcements. `federation` answers ListMasters on both.
    ZoneDirectory* zones = nullptr;
    FederationView* federation = nullptr;
  };
  ClusterService(Options options, ClusterManager* cluster, Scheduler* scheduler)
      : options_(std::move(options)), cluster_(cluster), scheduler_(scheduler) {}

  /// The address workers should dial; known only after the server has bound its port.
  void set_advertise_address(std::string address) { advertise_address_ = std::move(address); }

  grpc::ServerUnaryReactor* AddWorker(grpc::CallbackServerContext* ctx,
                                      const v1::AddWorkerRequest* request,
                                      v1::WorkerInfo* response) override;
  grpc::ServerUnaryReactor* RemoveWorker(grpc::CallbackServerContext* ctx,
                                         const v1::RemoveWorkerRequest* request,
                                         v1::RemoveWorkerResponse* response) override;
  grpc::ServerUnaryReactor* DrainWorker(grpc::CallbackServerContext* ctx,
                                        const v1::DrainWorkerRequest* request,
                                        v1::WorkerInfo* response) override;
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* ctx,
                                        const v1::ListWorkersRequest* request,
                                        v1::ListWorkersResponse* response) override;
  grpc::ServerUnaryReactor* GetWorker(grpc::CallbackServerContext* ctx,
                                      const v1::GetWorkerRequest* request,
                                      v1::WorkerInfo* response) override;
  grpc::ServerUnaryReactor* AnnounceZone(grpc::CallbackServerContext* ctx,
                                         const v1::AnnounceZoneRequest* request,
                                         v1::ZoneDirectory* response) override;
  grpc::ServerUnaryReactor* ListMasters(grpc::CallbackServerContext* ctx,
                                        const v1::ListMastersRequest* request,
                                        v1::ZoneDirectory* response) override;

 private:
  const Options options_;
  ClusterManager* const cluster_;
  Scheduler* const scheduler_;
  std::string advertise_address_;
};

}  // namespace fsched::master
