// fschedctl's command table and its usage errors, which are decided before any
// RPC (the channel to the unused address is never connected), and the digest
// the upload announces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
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

// Every flag the usage text names is one the fschedctl binary defines (its
// --helpfull lists them): the text once said --payload-file for --payload_file,
// which absl refuses as an unknown flag.
TEST(FschedctlCommandsTest, EveryFlagTheUsageTextNamesExists) {
  FILE* pipe = ::popen(FSCHED_CTL_BIN " --helpfull 2>&1", "r");
  ASSERT_NE(pipe, nullptr);
  std::string defined;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) defined.append(buffer, n);
  ::pclose(pipe);
  ASSERT_TRUE(absl::StrContains(defined, "    --master (")) << defined;
  const std::string usage = kUsage;
  int named = 0;
  for (size_t at = usage.find("--"); at != std::string::npos; at = usage.find("--", at + 2)) {
    size_t end = at + 2;
    while (end < usage.size() &&
           (absl::ascii_isalnum(usage[end]) || usage[end] == '_' || usage[end] == '-')) {
      ++end;
    }
    const std::string name = usage.substr(at + 2, end - at - 2);
    if (name.empty()) continue;  // "-- CMD": where the flags end
    ++named;
    EXPECT_TRUE(absl::StrContains(defined, absl::StrCat("    --", name, " (")))
        << "--" << name << " is in the usage text but not a flag of fschedctl";
  }
  EXPECT_GT(named, 20);
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
