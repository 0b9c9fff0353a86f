// fschedctl's command table and its usage errors, which are decided before any
// RPC (the channel to the unused address is never connected), and the digest
// the upload announces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/fschedctl/cli.h"
#include "tools/fschedctl/commands.h"
#include "tools/fschedctl/upload.h"

namespace fsched::ctl {
namespace {

TEST(FschedctlCommandsTest, EveryCommandIsNamedOnceAndInTheUsageText) {
  std::set<std::string> seen;
  for (const Command& c : Commands()) {
    EXPECT_TRUE(seen.insert(c.name).second) << c.name << " twice";
    EXPECT_NE(c.run, nullptr) << c.name;
    const std::string usage = kUsage;
    EXPECT_TRUE(absl::StrContains(usage, absl::StrCat("  ", c.name, " ")) ||
                absl::StrContains(usage, absl::StrCat(" ", c.name, " |")) ||
                absl::StrContains(usage, absl::StrCat("| ", c.name, " ")) ||
                absl::StrContains(usage, absl::StrCat("  ", c.name, "\n")))
        << c.name << " is missing from the usage text";
  }
  EXPECT_EQ(seen.size(), 23u);
}

TEST(FschedctlCommandsTest, UnknownCommandsAndMissingArgumentsAreUsageErrors) {
  Cli cli("127.0.0.1:1");
  testing::internal::CaptureStderr();
  const std::vector<Args> bad = {{},
                                 {"frobnicate"},
                                 {"delete"},
                                 {"invoke"},
                                 {"get"},
                                 {"wait", "a", "b"},
                                 {"upload-rootfs"},
                                 {"upload-rootfs", "/nonexistent/archive.tar"},
                                 {"task"},
                                 {"task", "frobnicate", "x"},
                                 {"task", "upload", "name"},
                                 {"task", "run", "id"},
                                 {"drain"},
                                 {"arch", "set"},
                                 {"token"},
                                 {"token", "frobnicate"},
                                 {"token", "create"},
                                 {"token", "create", "bob", "extra"},
                                 {"token", "revoke"}};
  for (const Args& args : bad) {
    EXPECT_EQ(RunCommand(cli, args), kExitUsage) << (args.empty() ? "(none)" : args[0]);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, testing::HasSubstr("fschedctl: unknown command 'frobnicate'"));
  EXPECT_THAT(err, testing::HasSubstr("fschedctl: no command given"));
  EXPECT_THAT(err, testing::HasSubstr("cannot read /nonexistent/archive.tar"));
  EXPECT_THAT(err, testing::HasSubstr("unknown token command 'frobnicate'"));
}

TEST(FschedctlUploadTest, TheAnnouncedDigestIsTheStreamsAndTheStreamIsRewound) {
  std::istringstream in("abc");
  auto digest = DigestOf(in);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string again;
  in >> again;
  EXPECT_EQ(again, "abc");
}

}  // namespace
}  // namespace fsched::ctl
