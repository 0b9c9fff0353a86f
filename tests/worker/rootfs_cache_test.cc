// The worker's cache of root filesystem archives, with real tar and a fetch
// that copies from a local file in place of the master.
#include "worker/rootfs_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/sha256.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

std::string DigestOfFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Sha256 h;
  h.Update(data);
  return h.Digest();
}

class RootfsCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::path(::testing::TempDir()) / ("rootfs-cache-" + std::to_string(getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "src/bin");
    std::ofstream(base_ / "src/bin/hello") << "#!/bin/sh\necho hi\n";
    fs::create_directories(base_ / "src/tmp");
    ASSERT_EQ(std::system(("tar -C " + (base_ / "src").string() + " -cf " +
                           (base_ / "good.tar").string() + " .")
                              .c_str()),
              0);
    std::ofstream(base_ / "junk.tar") << "this is not a tar archive at all";
  }
  void TearDown() override { fs::remove_all(base_); }

  // A fetch that serves `archives` (digest -> file) and counts its calls.
  RootfsCache::Fetch Serve(std::map<std::string, fs::path> archives) {
    return [this, archives](const std::string& digest, const std::string& path) {
      ++fetched_;
      auto it = archives.find(digest);
      if (it == archives.end()) return absl::NotFoundError("no such archive");
      fs::copy_file(it->second, path, fs::copy_options::overwrite_existing);
      return absl::OkStatus();
    };
  }

  fs::path base_;
  std::atomic<int> fetched_{0};
};

TEST_F(RootfsCacheTest, FetchesOnceAndUnpacks) {
  const std::string digest = DigestOfFile(base_ / "good.tar");
  RootfsCache cache((base_ / "cache").string(), Serve({{digest, base_ / "good.tar"}}));
  std::vector<std::thread> callers;
  std::vector<absl::StatusOr<std::string>> roots(4, absl::UnknownError("unset"));
  for (int i = 0; i < 4; ++i) callers.emplace_back([&, i] { roots[i] = cache.Get(digest); });
  for (std::thread& t : callers) t.join();
  for (const auto& root : roots) {
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, roots[0].value());
  }
  EXPECT_TRUE(fs::exists(fs::path(*roots[0]) / "bin/hello"));
  EXPECT_EQ(fetched_.load(), 1);
  EXPECT_FALSE(fs::exists(fs::path(*roots[0]).parent_path() / "archive.tar"));  // not kept

  // Another cache on the same directory (another worker on the host) finds it done.
  RootfsCache other((base_ / "cache").string(), Serve({}));
  EXPECT_TRUE(other.Get(digest).ok());
  EXPECT_EQ(fetched_.load(), 1);
}

TEST_F(RootfsCacheTest, RefusesBadDigestsWrongBytesAndNonArchivesAndRetriesLater) {
  const std::string good = DigestOfFile(base_ / "good.tar");
  const std::string junk = DigestOfFile(base_ / "junk.tar");
  // The "master" sends the junk file under the good digest: the bytes do not match.
  RootfsCache lying((base_ / "cache").string(), Serve({{good, base_ / "junk.tar"}}));
  EXPECT_EQ(lying.Get(good).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(lying.Get("sha256:short").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> unknown = lying.Get(junk);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find(junk), absl::string_view::npos);

  RootfsCache honest((base_ / "cache").string(),
                     Serve({{good, base_ / "good.tar"}, {junk, base_ / "junk.tar"}}));
  absl::StatusOr<std::string> not_tar = honest.Get(junk);
  EXPECT_EQ(not_tar.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(not_tar.status().message().find("not a tar archive"), absl::string_view::npos)
      << not_tar.status();
  // Failures leave nothing behind, so the good archive is fetched afresh and works.
  EXPECT_TRUE(honest.Get(good).ok());
}

}  // namespace
}  // namespace fsched::worker
