#include "master/master_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched::master {
namespace {

using ::testing::HasSubstr;

TEST(MasterConfigTest, DefaultsPass) {
  EXPECT_TRUE(ValidateMasterConfig(DefaultConfig<Config>()).ok());
}

TEST(MasterConfigTest, KeysThatMustAgreeAreNamed) {
  struct Case {
    const char* yaml;
    const char* expect;
  } cases[] = {
      {"cluster: {heartbeat_interval: 5s, heartbeat_timeout: 2s}", "cluster.heartbeat_timeout"},
      {"cluster: {heartbeat_interval: 2s, heartbeat_timeout: 2s}", "cluster.heartbeat_timeout"},
      {"scheduler: {default_timeout: 20m}", "scheduler.default_timeout"},
      {"scheduler: {default_timeout: 5s, max_timeout: 4s}", "scheduler.default_timeout"},
      {"cluster: {max_rootfs_bytes: 2GiB, rootfs_budget_bytes: 1GiB}",
       "cluster.rootfs_budget_bytes"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Config> config = ParseConfig(c.yaml);
    ASSERT_TRUE(config.ok()) << c.yaml << ": " << config.status();
    const absl::Status s = ValidateMasterConfig(*config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.expect)) << c.yaml;
  }
}

}  // namespace
}  // namespace fsched::master
