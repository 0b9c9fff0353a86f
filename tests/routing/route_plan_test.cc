// The routing decision for each node role and architecture (DESIGN.md table in
// route_plan.h), the hop limit, loop freedom and the offload threshold.
#include "routing/route_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched::routing {
namespace {

NodeRef Node(const std::string& id, NodeRole role, const std::string& zone) {
  return NodeRef{id, id + ":1", zone, role};
}

std::vector<std::string> Ids(const std::vector<NodeRef>& nodes) {
  std::vector<std::string> out;
  for (const NodeRef& n : nodes) out.push_back(n.id);
  return out;
}

// Keeps the given order, so tests see exactly what the plan chose.
std::vector<NodeRef> Same(std::vector<NodeRef> nodes) { return nodes; }

class RoutePlanTest : public ::testing::Test {
 protected:
  RoutePlanTest() {
    worker_view_.master = Node("master", NodeRole::kMaster, "c");
    worker_view_.zone_master = Node("zone-master-a", NodeRole::kZoneMaster, "a");
    worker_view_.zone_masters = {Node("zone-master-a", NodeRole::kZoneMaster, "a"),
                                 Node("zone-master-b", NodeRole::kZoneMaster, "b")};
    worker_view_.workers = {Node("w-a2", NodeRole::kWorker, "a")};
    zone_master_view_.master = worker_view_.master;
    zone_master_view_.zone_masters = {Node("zone-master-b", NodeRole::kZoneMaster, "b")};
    zone_master_view_.workers = {Node("w-a1", NodeRole::kWorker, "a"),
                                 Node("w-a2", NodeRole::kWorker, "a")};
    master_view_.zone_masters = worker_view_.zone_masters;
    master_view_.workers = {Node("w-a1", NodeRole::kWorker, "a"),
                            Node("w-b1", NodeRole::kWorker, "b")};
  }
  std::vector<std::string> Plan(NodeRole self, v1::Architecture a, uint32_t hops, double load,
                                const RouteView& view, std::set<std::string> visited = {}) {
    RouteInput in;
    in.self = self;
    in.architecture = a;
    in.hops = hops;
    in.load = load;
    in.offload_threshold = 0.8;
    return Ids(PlanRoute(in, view, visited, Same));
  }
  RouteView worker_view_, zone_master_view_, master_view_;
};

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(RoutePlanTest, CentralizedGoesToTheMasterWhichServesItself) {
  EXPECT_THAT(Plan(NodeRole::kWorker, v1::ARCHITECTURE_CENTRALIZED, 0, 0, worker_view_),
              ElementsAre("master"));
  EXPECT_THAT(Plan(NodeRole::kZoneMaster, v1::ARCHITECTURE_CENTRALIZED, 0, 0, zone_master_view_),
              ElementsAre("master"));
  EXPECT_THAT(Plan(NodeRole::kMaster, v1::ARCHITECTURE_CENTRALIZED, 1, 1, master_view_), IsEmpty());
}

TEST_F(RoutePlanTest, FederatedUsesTheZoneMasterAndOffloadsOnlyWhenBusy) {
  EXPECT_THAT(
      Plan(NodeRole::kWorker, v1::ARCHITECTURE_FEDERATED, 0, 0, worker_view_),
      ElementsAre("zone-master-a", "zone-master-b"));  // own zone first, the other as fallback
  EXPECT_THAT(Plan(NodeRole::kZoneMaster, v1::ARCHITECTURE_FEDERATED, 1, 0.5, zone_master_view_),
              IsEmpty());
  EXPECT_THAT(Plan(NodeRole::kZoneMaster, v1::ARCHITECTURE_FEDERATED, 1, 0.8, zone_master_view_),
              ElementsAre("zone-master-b"));
  EXPECT_THAT(Plan(NodeRole::kMaster, v1::ARCHITECTURE_FEDERATED, 0, 0, master_view_),
              ElementsAre("zone-master-a", "zone-master-b"));
}

TEST_F(RoutePlanTest, DecentralizedRunsLocallyUnderTheThresholdElseOnAPeer) {
  EXPECT_THAT(Plan(NodeRole::kWorker, v1::ARCHITECTURE_DECENTRALIZED, 0, 0.79, worker_view_),
              IsEmpty());
  EXPECT_THAT(Plan(NodeRole::kWorker, v1::ARCHITECTURE_DECENTRALIZED, 0, 0.8, worker_view_),
              ElementsAre("w-a2"));
  EXPECT_THAT(Plan(NodeRole::kZoneMaster, v1::ARCHITECTURE_DECENTRALIZED, 0, 0, zone_master_view_),
              ElementsAre("w-a1", "w-a2"));
}

TEST_F(RoutePlanTest, ABusyWorkerKeepsWhatAPeerJustSaidItHasNoRoomFor) {
  RouteView view = worker_view_;
  view.workers.push_back(Node("w-a3", NodeRole::kWorker, "a"));
  RouteInput in;
  in.self = NodeRole::kWorker;
  in.architecture = v1::ARCHITECTURE_DECENTRALIZED;
  in.load = 1.0;
  in.offload_threshold = 0.8;
  in.said_busy = [](const NodeRef& n) { return n.id == "w-a2"; };
  EXPECT_THAT(Ids(PlanRoute(in, view, {}, Same)), ElementsAre("w-a3"));
  // Every peer full: served here, where it queues, not handed around.
  in.said_busy = [](const NodeRef&) { return true; };
  EXPECT_THAT(Ids(PlanRoute(in, view, {}, Same)), IsEmpty());
  // Under the threshold a worker serves its own requests whatever its peers said.
  in.load = 0.5;
  in.said_busy = nullptr;
  EXPECT_THAT(Ids(PlanRoute(in, view, {}, Same)), IsEmpty());
  in.load = 1.0;
  // A zone master has no "here" to keep it: it still sends it to a worker.
  in.self = NodeRole::kZoneMaster;
  EXPECT_THAT(Ids(PlanRoute(in, zone_master_view_, {}, Same)), ElementsAre("w-a1", "w-a2"));
}

TEST_F(RoutePlanTest, HopTwoServesWhereItIsWhateverTheLoad) {
  for (v1::Architecture a :
       {v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_FEDERATED, v1::ARCHITECTURE_DECENTRALIZED}) {
    EXPECT_THAT(Plan(NodeRole::kWorker, a, 2, 1.0, worker_view_), IsEmpty());
    EXPECT_THAT(Plan(NodeRole::kZoneMaster, a, 2, 1.0, zone_master_view_), IsEmpty());
  }
}

TEST_F(RoutePlanTest, NodesAlreadyOnTheRouteAreNeverTargets) {
  // zone-master-b offloaded to zone a; zone-master-a, busy too, must not send it back.
  RouteView view = zone_master_view_;
  EXPECT_THAT(
      Plan(NodeRole::kZoneMaster, v1::ARCHITECTURE_FEDERATED, 1, 0.9, view, {"zone-master-b"}),
      IsEmpty());
  EXPECT_THAT(
      Plan(NodeRole::kWorker, v1::ARCHITECTURE_DECENTRALIZED, 1, 0.9, worker_view_, {"w-a2"}),
      IsEmpty());
  EXPECT_THAT(Plan(NodeRole::kWorker, v1::ARCHITECTURE_CENTRALIZED, 1, 0, worker_view_, {"master"}),
              IsEmpty());
}

TEST_F(RoutePlanTest, ShortcutsAgreeWithThePlan) {
  // Where the plan serves here regardless, it does so with any view and load.
  for (NodeRole self : {NodeRole::kMaster, NodeRole::kZoneMaster, NodeRole::kWorker}) {
    const RouteView& view = self == NodeRole::kMaster       ? master_view_
                            : self == NodeRole::kZoneMaster ? zone_master_view_
                                                            : worker_view_;
    for (v1::Architecture a : {v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_FEDERATED,
                               v1::ARCHITECTURE_DECENTRALIZED}) {
      for (uint32_t hops : {0u, 1u, 2u}) {
        const bool busy_differs =
            !Plan(self, a, hops, 0.0, view).empty() || !Plan(self, a, hops, 1.0, view).empty();
        if (ServesHereRegardless(self, a, hops)) {
          EXPECT_FALSE(busy_differs) << static_cast<int>(self) << " " << a << " " << hops;
        }
        // The load matters only where the plan says it reads it.
        if (!PlanReadsLoad(self, a)) {
          EXPECT_EQ(Plan(self, a, hops, 0.0, view), Plan(self, a, hops, 1.0, view));
        }
      }
    }
  }
  EXPECT_TRUE(ServesHereRegardless(NodeRole::kMaster, v1::ARCHITECTURE_CENTRALIZED, 0));
  EXPECT_FALSE(ServesHereRegardless(NodeRole::kMaster, v1::ARCHITECTURE_FEDERATED, 0));
  EXPECT_TRUE(PlanReadsLoad(NodeRole::kZoneMaster, v1::ARCHITECTURE_FEDERATED));
  EXPECT_FALSE(PlanReadsLoad(NodeRole::kMaster, v1::ARCHITECTURE_DECENTRALIZED));
}

TEST_F(RoutePlanTest, MissingMastersMeanServingHere) {
  RouteView lone;  // a single-master cluster seen from a worker with no membership yet
  EXPECT_THAT(Plan(NodeRole::kWorker, v1::ARCHITECTURE_CENTRALIZED, 0, 0, lone), IsEmpty());
  EXPECT_THAT(Plan(NodeRole::kWorker, v1::ARCHITECTURE_FEDERATED, 0, 0, lone), IsEmpty());
}

}  // namespace
}  // namespace fsched::routing
