// Which host directories may be a function's root filesystem.
#include "common/host_paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsched {
namespace {

using ::testing::HasSubstr;

TEST(HostPathsTest, TheHostsRootTopLevelAndSystemDirectoriesAreRefused) {
  for (const char* path : {"/", "/tmp", "/var/", "/etc", "/etc/ssl", "/../etc", "/srv/./../usr/lib",
                           "/proc/1/root", "/var/lib/fsched", "relative", ""}) {
    const absl::Status s = CheckRootfsDirectory(path);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << path;
  }
  EXPECT_THAT(CheckRootfsDirectory("/../etc").message(), HasSubstr("system directory /etc"));
  EXPECT_THAT(CheckRootfsDirectory("/tmp/").message(), HasSubstr("whole /tmp"));
  for (const char* path :
       {"/srv/rootfs/alpine", "/tmp/fsched-test/rootfs", "/data/images/x", "/etcetera/rootfs"}) {
    EXPECT_TRUE(CheckRootfsDirectory(path).ok()) << path;
  }
}

TEST(HostPathsTest, AnAllowListKeepsRootFilesystemsUnderIt) {
  const std::vector<std::string> allowed = {"/srv/rootfs", "/data/fn/"};
  EXPECT_TRUE(CheckRootfsDirectory("/srv/rootfs/alpine", allowed).ok());
  EXPECT_TRUE(CheckRootfsDirectory("/data/fn/x/y", allowed).ok());
  const absl::Status outside = CheckRootfsDirectory("/srv/rootfs-other/x", allowed);
  EXPECT_EQ(outside.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(outside.message(), HasSubstr("under none of the directories allowed"));
  EXPECT_FALSE(CheckRootfsDirectory("/srv/rootfs/../../etc", allowed).ok());
}

}  // namespace
}  // namespace fsched
