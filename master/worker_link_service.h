// WorkerLink.Connect: one bidirectional stream per worker, served by a reactor
// that owns its state, never blocks, and deletes itself in OnDone.
#pragma once

#include <functional>

#include "common/timer_queue.h"
#include "fsched/v1/link.grpc.pb.h"
#include "master/cluster_manager.h"
#include "master/scheduler.h"

namespace fsched::master {

class WorkerLinkService final : public v1::WorkerLink::CallbackService {
 public:
  using JoinedFn = std::function<void(const std::string& worker_id)>;
  /// `on_joined` (optional) runs after each worker is welcomed.
  WorkerLinkService(ClusterManager* cluster, Scheduler* scheduler, TimerQueue* timers,
                    absl::Duration register_timeout, JoinedFn on_joined = nullptr)
      : cluster_(cluster),
        scheduler_(scheduler),
        timers_(timers),
        register_timeout_(register_timeout),
        on_joined_(std::move(on_joined)) {}

  grpc::ServerBidiReactor<v1::WorkerMessage, v1::MasterMessage>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  ClusterManager* const cluster_;
  Scheduler* const scheduler_;
  TimerQueue* const timers_;
  const absl::Duration register_timeout_;
  const JoinedFn on_joined_;
};

}  // namespace fsched::master
