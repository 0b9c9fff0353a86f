#include "common/server.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace fsched {
namespace {

// Two daemons given the same address (two workers started from one config
// file): the second is refused, rather than sharing the port through
// SO_REUSEPORT and taking half of the first one's connections.
TEST(ServerTest, ASecondServerOnATakenPortIsRefused) {
  absl::StatusOr<RunningServer> first = StartServer("127.0.0.1:0", {}, 1 << 20);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_GT(first->port, 0);
  const std::string taken = absl::StrCat("127.0.0.1:", first->port);
  absl::StatusOr<RunningServer> second = StartServer(taken, {}, 1 << 20);
  ASSERT_FALSE(second.ok()) << "a second server started on " << taken;
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(taken), std::string::npos) << second.status();
  first->server->Shutdown();
}

}  // namespace
}  // namespace fsched
