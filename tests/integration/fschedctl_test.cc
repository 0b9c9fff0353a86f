// fschedctl against a live master: the commands an operator types, their
// output and exit codes (0 ok, 1 RPC failed, 2 usage, 3 the function failed).
#include <cstdlib>

#include "absl/strings/strip.h"
#include "common/sha256.h"
#include "tests/integration/cluster_fixture.h"
#include "tests/worker/fake_resctrl.h"

namespace fsched {
namespace {

using FschedctlTest = ClusterTest;

TEST_F(FschedctlTest, RegistersInvokesListsAndFailsClearly) {
  StartMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});

  CtlRun r = Ctl({"register", "shout", "--timeout", "5s", "--", "tr", "a-z", "A-Z"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("registered shout (version 1)"));
  r = Ctl({"invoke", "shout", "--payload", "hello"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("HELLO"));
  EXPECT_THAT(r.output, HasSubstr("shout on w1: ok, cold"));
  r = Ctl({"--json", "functions"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("\"name\": \"shout\""));
  r = Ctl({"workers"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("RUNTIMES"));
  EXPECT_THAT(r.output, HasSubstr("w1"));

  // A function that fails: exit 3, with its outcome.
  ASSERT_EQ(Ctl({"register", "fail", "--", "sh", "-c", "exit 4"}).code, 0);
  r = Ctl({"invoke", "fail"});
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("nonzero_exit"));
  // The master says no: exit 1, with the status and its reason.
  r = Ctl({"invoke", "nobody"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("NOT_FOUND"));
  r = Ctl({"register", "boxed", "--rootfs", "relative/dir", "--", "true"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("must be an absolute path"));
  // The command line is wrong: exit 2 before any RPC.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"register", "x", "--memory", "lots", "--", "true"},
        {"register", "x", "--runtime", "docker", "--", "true"},
        {"register", "x", "--keep_alive", "forever", "--", "true"},
        {"upload-rootfs", dir_ + "/no-such.tar"},
        {"upload-rootfs"},
        {"frobnicate"}}) {
    r = Ctl(bad);
    EXPECT_EQ(r.code, 2) << bad[0] << " " << r.output;
  }
  // An unknown runtime is named as such, not taken for a missing command.
  r = Ctl({"register", "x", "--runtime", "ruby", "--code", dir_, "--handler", "main:handle"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr("--runtime 'ruby' is not process, runc, containerd, python or node"));
}

TEST_F(FschedctlTest, UploadsAndListsRootfsArchives) {
  StartMaster();
  ASSERT_EQ(std::system(("mkdir -p " + dir_ + "/tree/bin && echo hi > " + dir_ +
                         "/tree/bin/hello && tar -C " + dir_ + "/tree -cf " + dir_ + "/tree.tar .")
                            .c_str()),
            0);
  CtlRun r = Ctl({"upload-rootfs", dir_ + "/tree.tar"});
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string digest = std::string(absl::StripAsciiWhitespace(r.output));
  EXPECT_TRUE(ValidateDigest(digest).ok()) << r.output;
  r = Ctl({"rootfs"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr(digest));
  // Registered by digest: accepted only because it was uploaded.
  r = Ctl({"register", "boxed", "--rootfs", digest, "--", "/bin/hello"});
  EXPECT_EQ(r.code, 0) << r.output;
  r = Ctl({"register", "ghost", "--rootfs", "sha256:" + std::string(64, 'a'), "--", "true"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("FAILED_PRECONDITION"));
}

TEST_F(FschedctlTest, RunsTheTaskFlowAndShowsTheCache) {
  worker::testing::MakeFakeResctrl(dir_ + "/resctrl");  // 20 ways, 18 for partitions
  worker_flags_ = {"--resctrl_root", dir_ + "/resctrl"};
  StartMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  testing::WriteFile(dir_ + "/run.sh", "echo \"rows: $1\"\n");
  ASSERT_EQ(std::system(("tar -C " + dir_ + " -cf " + dir_ + "/task.tar run.sh").c_str()), 0);

  CtlRun r = Ctl({"task", "upload", "rows", dir_ + "/task.tar"});
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string id(absl::StripAsciiWhitespace(r.output));
  EXPECT_TRUE(id.starts_with("task-")) << id;
  r = Ctl({"task", "run", id, "--size", "50", "--", "sh", "run.sh", "50"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(r.output, HasSubstr("benchmark it"));
  r = Ctl({"task", "benchmark", id, "--size", "50", "--max_ways", "3", "--", "sh", "run.sh", "50"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("WAYS"));
  EXPECT_THAT(r.output, HasSubstr("fit: t(x) ="));
  r = Ctl({"task", "run", id, "--size", "50", "--", "sh", "run.sh", "50"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("benchmarked, "));
  EXPECT_THAT(r.output, HasSubstr("rows: 50"));
  r = Ctl({"workers"});
  EXPECT_THAT(r.output, HasSubstr("CACHE WAYS"));
  EXPECT_THAT(r.output, HasSubstr("0/18"));
  r = Ctl({"task", "frobnicate"});
  EXPECT_EQ(r.code, 2) << r.output;
}

TEST_F(FschedctlTest, ShowsAndSetsTheArchitectureAndItsThresholds) {
  StartMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  ASSERT_EQ(Ctl({"register", "echo", "--", "cat"}).code, 0);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(Ctl({"invoke", "echo", "--payload", "x"}).code, 0);

  CtlRun r = Ctl({"arch", "echo"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("architecture: centralized"));
  EXPECT_THAT(r.output, ::testing::ContainsRegex("echo +centralized +12 "));
  r = Ctl({"--json", "arch"});
  EXPECT_THAT(r.output, HasSubstr("\"samples\": \"12\""));

  r = Ctl({"arch", "set", "mesh"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("INVALID_ARGUMENT"));
  r = Ctl({"arch", "set", "federated"});
  EXPECT_EQ(r.code, 0) << r.output;
  r = Ctl({"arch", "echo"});
  EXPECT_THAT(r.output, HasSubstr("architecture: federated"));
  r = Ctl({"arch", "set", "centralized"});
  EXPECT_EQ(r.code, 0) << r.output;

  r = Ctl({"arch", "thresholds", "--soft_d2f", "1.2"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("decentralized->federated: soft 1.2, hard 2.5"));
  r = Ctl({"arch", "thresholds", "--soft_f2c", "9"});  // above hard_f2c
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("soft_f2c 9 must be below hard_f2c 2.7"));
  r = Ctl({"arch", "thresholds"});  // unchanged by the refused update
  EXPECT_THAT(r.output, HasSubstr("soft 1.2, hard 2.5"));
  EXPECT_THAT(r.output, HasSubstr("soft 1.7, hard 2.7"));
}

}  // namespace
}  // namespace fsched
