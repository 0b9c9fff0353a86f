// WorkerLink.Connect: one bidirectional stream per worker, served by a reactor
// that owns its state, never blocks, and deletes itself in OnDone. With
// network emulation on, the stream is the emulated dispatch link: every
// message each way waits half the link's delay to that worker, as forwarded
// requests do (seed 001's testbed delays every hop, the master's dispatch
// included). And WorkerLink.FetchRootfs: a stored root filesystem archive, in chunks.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "common/auth.h"
#include "common/timer_queue.h"
#include "fsched/v1/link.grpc.pb.h"
#include "master/cluster_manager.h"
#include "master/rootfs_store.h"
#include "master/scheduler.h"
#include "routing/topology.h"

namespace fsched::master {

/// Told after each worker is welcomed (the master sends it membership and
/// pre-warm commands).
class WorkerJoinCallbacks {
 public:
  virtual ~WorkerJoinCallbacks() = default;
  virtual void OnWorkerJoined(const std::string& worker_id) = 0;
};

class WorkerLinkService final : public v1::WorkerLink::CallbackService {
 public:
  struct Options {
    const Gate* gate = nullptr;  // who may call
    ClusterManager* cluster = nullptr;
    Scheduler* scheduler = nullptr;
    TimerQueue* timers = nullptr;
    const RootfsStore* rootfs = nullptr;
    std::string join_token;  // FetchRootfs checks it; Connect's check is the cluster manager's
    absl::Duration register_timeout = absl::Seconds(10);
    WorkerJoinCallbacks* joined = nullptr;  // optional
    uint64_t max_message_bytes = 0;         // the server's receive limit, told to workers
    // The emulated link delay to each worker; none = real links only.
    std::optional<routing::LinkDelays> link_delays;
  };
  explicit WorkerLinkService(Options options);

  grpc::ServerBidiReactor<v1::WorkerMessage, v1::MasterMessage>* Connect(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<v1::RootfsChunk>* FetchRootfs(
      grpc::CallbackServerContext* context, const v1::FetchRootfsRequest* request) override;

 private:
  const Options options_;
  // Delayed messages of emulated links; destroyed with the service, before
  // the cluster manager and scheduler its callbacks use. Null without emulation.
  std::unique_ptr<TimerQueue> link_timers_;
};

}  // namespace fsched::master
