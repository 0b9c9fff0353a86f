// The ctr command lines the containerd engine builds, and its refusal where
// no daemon runs. (The engine against a real containerd is tested in
// container_runtime_test.cc.)
#include "worker/containerd_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace fsched::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ContainerdEngineTest, CreateCommandCarriesTheSpecAndKeepsTheShimArgsAfterDashDash) {
  ContainerdEngine::Options options;
  options.address = "/run/k3s/containerd/containerd.sock";
  options.ns = "fs";
  ContainerdEngine engine(options);
  ContainerSpec spec;
  spec.argv = {"/dev/.fsched-shim"};
  spec.env = {{"A", "1"}};
  spec.memory_bytes = 64 << 20;
  spec.cpu_cores = 0.5;
  spec.uid = 65534;
  spec.gid = 65534;
  spec.binds.push_back({"/usr/lib/fsched/fsched-shim", "/dev/.fsched-shim", true});
  EngineInstance instance;
  instance.id = "fs1-c0";
  instance.image = "docker.io/library/busybox:1";
  EXPECT_THAT(
      engine.CreateCommand(spec, instance),
      ElementsAre(
          "ctr", "--address", "/run/k3s/containerd/containerd.sock", "--namespace", "fs",
          "containers", "create", "--read-only", "--cwd", "/", "--env", "A=1", "--env", "HOME=/tmp",
          "--env", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
          "--memory-limit", "67108864", "--cpu-quota", "50000", "--cpu-period", "100000", "--mount",
          "type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:mode=1777", "--mount",
          "type=bind,src=/usr/lib/fsched/fsched-shim,dst=/dev/.fsched-shim,options=rbind:ro",
          "--label", "fsched.io/managed=true", "docker.io/library/busybox:1", "fs1-c0", "--",
          "/dev/.fsched-shim", "--user=65534:65534"));
  EXPECT_EQ(engine.Cgroup("fs1-c0"), "/fs/fs1-c0");

  // Network asked for: the host's; root asked for: no user flag.
  spec.network = true;
  spec.uid = spec.gid = 0;
  spec.memory_bytes = 0;
  spec.cpu_cores = 0;
  spec.env.clear();
  const std::vector<std::string> argv = engine.CreateCommand(spec, instance);
  EXPECT_THAT(argv, ::testing::Contains("--net-host"));
  EXPECT_THAT(argv, ::testing::Not(::testing::Contains("--memory-limit")));
  EXPECT_EQ(argv.back(), "/dev/.fsched-shim");
}

TEST(ContainerdEngineTest, TheShimsUserFlagComesBeforeAnInstanceCommand) {
  ContainerdEngine::Options options;
  ContainerdEngine engine(options);
  ContainerSpec spec;
  spec.argv = {"/dev/.fsched-shim", "--instance", "--", "python3", "/rt.py"};
  spec.uid = spec.gid = 65534;
  EngineInstance instance;
  instance.id = "fs1-c1";
  instance.image = "python:3";
  const std::vector<std::string> argv = engine.CreateCommand(spec, instance);
  const auto dashes = std::find(argv.begin(), argv.end(), "--");
  ASSERT_NE(dashes, argv.end());
  EXPECT_EQ(std::vector<std::string>(dashes + 1, argv.end()),
            (std::vector<std::string>{"/dev/.fsched-shim", "--user=65534:65534", "--instance", "--",
                                      "python3", "/rt.py"}));
}

TEST(ContainerdEngineTest, NoDaemonIsAClearPreconditionFailureAtOnce) {
  ContainerdEngine::Options options;
  options.address = "/nonexistent/containerd.sock";
  const absl::Status s = ContainerdEngine(options).Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("no containerd socket at /nonexistent"));
}

}  // namespace
}  // namespace fsched::worker
