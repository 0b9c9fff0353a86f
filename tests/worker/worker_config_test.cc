#include "worker/worker_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace fsched::worker {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(WorkerConfigTest, DefaultsPass) {
  EXPECT_TRUE(ValidateWorkerConfig(DefaultConfig<Config>()).ok());
  absl::StatusOr<Config> runc = ParseConfig("worker: {runtime: runc, runc: on}");
  ASSERT_TRUE(runc.ok()) << runc.status();
  EXPECT_TRUE(ValidateWorkerConfig(*runc).ok());
  absl::StatusOr<Config> pinned = ParseConfig("worker: {cpus: '0-1,4'}");
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_TRUE(ValidateWorkerConfig(*pinned).ok());
}

// Four calls wait per slot unless the file says otherwise; 0 (nothing waits)
// is a value of its own, not the default again.
TEST(WorkerConfigTest, WaitingPerSlot) {
  EXPECT_EQ(DefaultConfig<Config>().worker().waiting_per_slot(), 4u);
  for (const auto& [yaml, expect] : std::vector<std::pair<const char*, uint32_t>>{
           {"worker: {waiting_per_slot: 0}", 0}, {"worker: {waiting_per_slot: 16}", 16}}) {
    absl::StatusOr<Config> config = ParseConfig(yaml);
    ASSERT_TRUE(config.ok()) << yaml << ": " << config.status();
    EXPECT_EQ(config->worker().waiting_per_slot(), expect) << yaml;
    EXPECT_TRUE(ValidateWorkerConfig(*config).ok()) << yaml;
  }
  absl::StatusOr<Config> huge = ParseConfig("worker: {waiting_per_slot: 5000}");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(huge.status().message()), HasSubstr("worker.waiting_per_slot"));
}

TEST(WorkerConfigTest, CpuPolicy) {
  EXPECT_EQ(DefaultConfig<Config>().worker().cpu_policy(), config::v1::CPU_POLICY_NORMAL);
  absl::StatusOr<Config> batch = ParseConfig("worker: {cpu_policy: batch}");
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->worker().cpu_policy(), config::v1::CPU_POLICY_BATCH);
  absl::StatusOr<Config> fifo = ParseConfig("worker: {cpu_policy: fifo}");
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(fifo.status().message()),
              AllOf(HasSubstr("worker.cpu_policy"), HasSubstr("'fifo' is not one of"),
                    HasSubstr("normal"), HasSubstr("batch")));
}

TEST(WorkerConfigTest, KeysThatMustAgreeAreNamed) {
  struct Case {
    const char* yaml;
    const char* expect;
  } cases[] = {
      {"worker: {runtime: runc, runc: off}", "worker.runtime"},
      {"worker: {runtime: containerd}", "worker.runtime"},
      {"worker: {reconnect_min: 20s, reconnect_max: 10s}", "worker.reconnect_min"},
      {"worker: {rootfs_dirs: [/srv/rootfs, relative]}", "worker.rootfs_dirs[1]"},
      {"worker: {rootfs_dirs: [/]}", "worker.rootfs_dirs[0]"},
      {"worker: {cpus: '3-1'}", "worker.cpus: '3-1': the range 3-1 runs backwards"},
      {"worker: {cpus: 'all'}", "worker.cpus: 'all': 'all' is not a CPU number"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Config> config = ParseConfig(c.yaml);
    ASSERT_TRUE(config.ok()) << c.yaml << ": " << config.status();
    const absl::Status s = ValidateWorkerConfig(*config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.expect)) << c.yaml;
  }
}

}  // namespace
}  // namespace fsched::worker
