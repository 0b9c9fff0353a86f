// The master's directory of zone masters: announce, list, expiry, bad input.
#include "master/zone_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched::master {
namespace {

using ::testing::HasSubstr;

v1::AnnounceZoneRequest Announce(const std::string& id, const std::string& zone,
                                 const std::string& address) {
  v1::AnnounceZoneRequest a;
  a.set_node_id(id);
  a.set_zone(zone);
  a.set_address(address);
  return a;
}

TEST(ZoneDirectoryTest, ListsTheMasterThenLiveZonesAndForgetsSilentOnes) {
  ManualClock clock(absl::FromUnixSeconds(100));
  ZoneDirectory zones(absl::Seconds(3), &clock);
  v1::Peer self;
  self.set_worker_id("master");
  self.set_address("c:1");
  self.set_role("master");
  zones.SetSelf(self);
  const uint64_t v0 = zones.version();
  ASSERT_TRUE(zones.Announce(Announce("zone-master-a", "a", "a:1")).ok());
  ASSERT_TRUE(zones.Announce(Announce("zone-master-b", "b", "b:1")).ok());
  EXPECT_GT(zones.version(), v0);
  v1::ZoneDirectory list = zones.List();
  ASSERT_EQ(list.masters_size(), 3);
  EXPECT_EQ(list.masters(0).worker_id(), "master");
  EXPECT_EQ(list.masters(1).role(), "zone-master");
  // Renewing changes nothing; moving does.
  const uint64_t v1 = zones.version();
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE(zones.Announce(Announce("zone-master-a", "a", "a:1")).ok());
  EXPECT_EQ(zones.version(), v1);
  ASSERT_TRUE(zones.Announce(Announce("zone-master-a", "a", "a:2")).ok());
  EXPECT_GT(zones.version(), v1);
  // zone-master-b went silent 4 s ago: gone.
  clock.Advance(absl::Seconds(2));
  list = zones.List();
  ASSERT_EQ(list.masters_size(), 2);
  EXPECT_EQ(list.masters(1).worker_id(), "zone-master-a");
  EXPECT_EQ(list.masters(1).address(), "a:2");
}

TEST(ZoneDirectoryTest, RefusesAnnouncementsItCannotUse) {
  ManualClock clock(absl::FromUnixSeconds(100));
  ZoneDirectory zones(absl::Seconds(3), &clock);
  v1::Peer self;
  self.set_worker_id("master");
  zones.SetSelf(self);
  EXPECT_EQ(zones.Announce(Announce("", "a", "a:1")).code(), absl::StatusCode::kInvalidArgument);
  absl::Status s = zones.Announce(Announce("zone-master-a", "a", "nowhere"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("not host:port"));
  s = zones.Announce(Announce("master", "a", "a:1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("master's own"));
  EXPECT_EQ(zones.List().masters_size(), 1);  // nothing accepted
}

}  // namespace
}  // namespace fsched::master
