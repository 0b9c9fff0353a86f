#include "worker/worker_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched::worker {
namespace {

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
