// Emulated link delays: the per-node override, the master rule, same and cross zone.
#include "routing/topology.h"

#include <gtest/gtest.h>

#include "common/proto_time.h"

namespace fsched::routing {
namespace {

TEST(LinkDelaysTest, SeedTestbedDelaysByRoleAndZone) {
  NetworkEmulationConfig net;
  ToProto(absl::Milliseconds(10), net.mutable_same_zone());
  ToProto(absl::Milliseconds(20), net.mutable_cross_zone());
  ToProto(absl::Milliseconds(60), net.mutable_master());
  ToProto(absl::Milliseconds(35), &(*net.mutable_nodes())["w-slow"]);
  const NodeRef worker{"w-a1", "h:1", "a", NodeRole::kWorker};
  LinkDelays from_worker(net, worker);
  EXPECT_TRUE(from_worker.enabled());
  EXPECT_EQ(from_worker.To({"master", "h:2", "c", NodeRole::kMaster}), absl::Milliseconds(60));
  EXPECT_EQ(from_worker.To({"zone-master-a", "h:3", "a", NodeRole::kZoneMaster}),
            absl::Milliseconds(10));
  EXPECT_EQ(from_worker.To({"zone-master-b", "h:4", "b", NodeRole::kZoneMaster}),
            absl::Milliseconds(20));
  EXPECT_EQ(from_worker.To({"w-slow", "h:5", "a", NodeRole::kWorker}), absl::Milliseconds(35));
  // From the master, every link is a master link.
  LinkDelays from_master(net, {"master", "h:2", "a", NodeRole::kMaster});
  EXPECT_EQ(from_master.To(worker), absl::Milliseconds(60));
  EXPECT_FALSE(LinkDelays(NetworkEmulationConfig{}, worker).enabled());
}

TEST(TopologyTest, PeersKeepTheirRoles) {
  v1::Peer peer;
  peer.set_worker_id("zone-master-a");
  peer.set_address("h:1");
  peer.set_zone("a");
  peer.set_role("zone-master");
  const NodeRef node = FromPeer(peer);
  EXPECT_EQ(node.role, NodeRole::kZoneMaster);
  EXPECT_EQ(ToPeer(node).SerializeAsString(), peer.SerializeAsString());
  peer.clear_role();  // workers' peers from older masters carry no role
  EXPECT_EQ(FromPeer(peer).role, NodeRole::kWorker);
}

}  // namespace
}  // namespace fsched::routing
