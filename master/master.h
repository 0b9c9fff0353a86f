// A master process: its core (master_core.h), root filesystem storage, routing,
// the zone directory or parent link, metrics, and the gRPC services over them.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/host_stats.h"
#include "common/rpc.h"
#include "common/server.h"
#include "common/timer_queue.h"
#include "master/admin_service.h"
#include "master/cluster_service.h"
#include "master/controller_service.h"
#include "master/master_core.h"
#include "master/master_metrics.h"
#include "master/parent_link.h"
#include "master/rootfs_store.h"
#include "master/token_registry.h"
#include "master/tokens_service.h"
#include "master/worker_link_service.h"
#include "master/zone_directory.h"
#include "routing/router.h"

namespace fsched::http {
class HttpEntry;
}

namespace fsched::master {

// The core's controller, the services and the router see the daemon through
// their callbacks.
class Master : private ControllerCallbacks,
               private FederationView,
               private WorkerJoinCallbacks,
               private routing::RouterCallbacks {
 public:
  /// Opens the state directory and builds every component. FAILED_PRECONDITION
  /// for an unusable state directory, INVALID_ARGUMENT for unknown policy names.
  static absl::StatusOr<std::unique_ptr<Master>> Create(const Config& config);
  ~Master();

  /// Binds config.listen() and starts serving and the housekeeping thread.
  absl::Status Start();
  /// Stops accepting, finishes in-flight RPCs briefly, and stops housekeeping.
  void Shutdown();
  int port() const { return port_; }
  /// The bound metrics port; 0 when metrics are off.
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  /// The bound HTTP port; 0 when the HTTP entry is off.
  int http_port() const;
  const std::string& advertise_address() const { return advertise_; }

 private:
  // The server's receive limit: the payload limit and the envelope around it.
  uint64_t MaxReceiveBytes() const {
    return config_.scheduler().max_payload_bytes() + kMessageEnvelopeBytes;
  }
  explicit Master(const Config& config);
  // Create's steps, in order: the core (and the task flow over it), routing, services.
  absl::Status BuildCore();
  // Who may call: the token directory, its registry (master) and the gate.
  absl::Status BuildAuth();
  absl::Status BuildRouting();
  absl::Status BuildServices();
  void Housekeeping();
  /// The masters and workers this node can route to, refreshed by housekeeping;
  /// membership is pushed to workers when it changes.
  void RefreshRouting();
  /// Sends the token directory to every worker when it changed since the last push.
  void PushTokens();
  v1::MasterMessage TokensMessage() const;
  /// The federation's live masters (this one included) as last known.
  std::vector<v1::Peer> Masters();
  // FederationView: the zone directory here, or what the parent last said.
  v1::ZoneDirectory Directory() override;
  // WorkerJoinCallbacks: membership and pre-warm commands to the new worker.
  void OnWorkerJoined(const std::string& worker_id) override;
  // ControllerCallbacks.
  void OnFunctionRegistered(const v1::Function& function) override;
  void OnFunctionDeleted(const std::string& name) override;
  bool RootfsExists(const std::string& digest) override;
  bool WorkerReady(const std::string& worker_id) override;
  // routing::RouterCallbacks: the view is the one housekeeping refreshed; the
  // load is the zone's busy share; served requests go through the controller.
  std::shared_ptr<const routing::RouteView> View() override;
  double RoutingLoad() override;
  void ServeHere(const v1::InvokeRequest& request, const routing::RouteAccepted& accepted,
                 routing::RouteDone done) override;
  void OnEntryDone(v1::Architecture architecture,
                   const absl::StatusOr<v1::InvocationResult>& result,
                   absl::Duration elapsed) override;
  bool is_zone_master() const { return config_.node().role() == config::v1::NODE_ROLE_ZONE_MASTER; }
  routing::NodeRef SelfNode() const;  // this node as routing sees it
  /// Writes what the predictor learned, and the functions' call histories,
  /// since the last call (every 5 s and at shutdown).
  void PersistLearned();

  Config config_;
  // Declared first, so destroyed last: the components record into it until
  // their own threads are gone. Its endpoint stops in Shutdown.
  std::unique_ptr<MasterMetrics> metrics_;  // null when metrics.listen is empty
  Clock* clock_ = RealClock::Get();
  HostMonitor host_;
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<RootfsStore> rootfs_;
  std::unique_ptr<MasterCore> core_;
  std::unique_ptr<routing::RoutingState> routing_;
  std::unique_ptr<routing::Router> router_;
  std::unique_ptr<ZoneDirectory> zones_;   // master
  std::unique_ptr<ParentLink> parent_;     // zone master
  std::unique_ptr<http::HttpEntry> http_;  // null when http.listen is empty
  absl::Mutex view_mu_;
  std::shared_ptr<const routing::RouteView> view_ ABSL_GUARDED_BY(view_mu_) =
      std::make_shared<routing::RouteView>();
  std::unique_ptr<TaskFlow> tasks_;
  TokenDirectory tokens_;
  std::unique_ptr<TokenRegistry> token_registry_;  // master; a zone master mirrors its parent's
  std::unique_ptr<Gate> gate_;
  uint64_t tokens_pushed_ = 0;  // housekeeping only: the directory version workers have
  std::unique_ptr<ControllerService> controller_service_;
  std::unique_ptr<ClusterService> cluster_service_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<WorkerLinkService> link_service_;
  std::unique_ptr<TokensService> tokens_service_;
  RunningServer server_;
  int port_ = 0;
  std::string advertise_;
  std::atomic<bool> stopping_{false};
  std::thread housekeeping_;
};

}  // namespace fsched::master
