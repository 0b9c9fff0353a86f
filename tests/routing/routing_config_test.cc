#include "routing/routing_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched::routing {
namespace {

using ::testing::HasSubstr;

TEST(RoutingConfigTest, DefaultsPass) {
  EXPECT_TRUE(ValidateRoutingConfig(DefaultConfig<Config>()).ok());
}

TEST(RoutingConfigTest, SoftThresholdsMustBeBelowHardOnes) {
  for (const char* yaml :
       {"tail_scheduler: {soft_d2f_threshold: 3.0}", "tail_scheduler: {soft_f2c_threshold: 2.7}"}) {
    absl::StatusOr<Config> config = ParseConfig(yaml);
    ASSERT_TRUE(config.ok()) << yaml << ": " << config.status();
    const absl::Status s = ValidateRoutingConfig(*config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr("tail_scheduler")) << yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr("must be below hard")) << yaml;
  }
}

// Thresholds changed at run time meet the ranges the schema declares for the file.
TEST(RoutingConfigTest, RangesHoldForValuesSetInCode) {
  TailSchedulerConfig t = DefaultConfig<TailSchedulerConfig>();
  t.set_offload_load_threshold(1.5);
  EXPECT_THAT(std::string(ValidateTailScheduler(t).message()),
              HasSubstr("offload_load_threshold: must be at most 1"));
  t = DefaultConfig<TailSchedulerConfig>();
  t.set_soft_d2f_threshold(0.5);
  EXPECT_THAT(std::string(ValidateTailScheduler(t).message()),
              HasSubstr("soft_d2f_threshold: must be at least 1"));
}

}  // namespace
}  // namespace fsched::routing
