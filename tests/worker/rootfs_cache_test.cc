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

  // An archive of one 1 MiB file per letter; their digests in `digests`.
  std::map<std::string, fs::path> MegabyteArchives(const std::string& letters,
                                                   std::vector<std::string>* digests) {
    std::map<std::string, fs::path> archives;
    for (char c : letters) {
      const fs::path src = base_ / ("src-" + std::string(1, c));
      fs::create_directories(src);
      std::ofstream(src / "data") << std::string(1 << 20, c);
      const fs::path tar = base_ / (std::string(1, c) + ".tar");
      EXPECT_EQ(std::system(("tar -C " + src.string() + " -cf " + tar.string() + " .").c_str()), 0);
      digests->push_back(DigestOfFile(tar));
      archives[digests->back()] = tar;
    }
    return archives;
  }

  fs::path base_;
  std::atomic<int> fetched_{0};
};

TEST_F(RootfsCacheTest, FetchesOnceAndUnpacks) {
  const std::string digest = DigestOfFile(base_ / "good.tar");
  RootfsCache cache((base_ / "cache").string(), 0, Serve({{digest, base_ / "good.tar"}}));
  std::vector<std::thread> callers;
  std::vector<absl::StatusOr<RootfsCache::Lease>> roots;
  for (int i = 0; i < 4; ++i) roots.emplace_back(absl::UnknownError("unset"));
  for (int i = 0; i < 4; ++i) callers.emplace_back([&, i] { roots[i] = cache.Get(digest); });
  for (std::thread& t : callers) t.join();
  for (const auto& root : roots) {
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(root->path(), roots[0]->path());
  }
  const fs::path root = roots[0]->path();
  EXPECT_TRUE(fs::exists(root / "bin/hello"));
  EXPECT_EQ(fetched_.load(), 1);
  EXPECT_FALSE(fs::exists(root.parent_path() / "archive.tar"));  // not kept
  EXPECT_GT(cache.DiskBytes(), 0u);

  // Another cache on the same directory (another worker on the host) finds it done.
  RootfsCache other((base_ / "cache").string(), 0, Serve({}));
  EXPECT_TRUE(other.Get(digest).ok());
  EXPECT_EQ(fetched_.load(), 1);
}

TEST_F(RootfsCacheTest, RefusesBadDigestsWrongBytesAndNonArchivesAndRetriesLater) {
  const std::string good = DigestOfFile(base_ / "good.tar");
  const std::string junk = DigestOfFile(base_ / "junk.tar");
  // The "master" sends the junk file under the good digest: the bytes do not match.
  RootfsCache lying((base_ / "cache").string(), 0, Serve({{good, base_ / "junk.tar"}}));
  EXPECT_EQ(lying.Get(good).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(lying.Get("sha256:short").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<RootfsCache::Lease> unknown = lying.Get(junk);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find(junk), absl::string_view::npos);

  RootfsCache honest((base_ / "cache").string(), 0,
                     Serve({{good, base_ / "good.tar"}, {junk, base_ / "junk.tar"}}));
  absl::StatusOr<RootfsCache::Lease> not_tar = honest.Get(junk);
  EXPECT_EQ(not_tar.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(not_tar.status().message().find("not a tar archive"), absl::string_view::npos)
      << not_tar.status();
  // Failures leave nothing behind, so the good archive is fetched afresh and works.
  EXPECT_TRUE(honest.Get(good).ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(base_ / "cache"), fs::directory_iterator()),
            5)  // good's entry, and a .use and a .lock file for each of good and junk
      << "failures left more than their lock files";
}

// Three archives of 1 MiB each under a budget of 2.5 MiB: one has to go, and
// it is the least recently used that nobody holds.
TEST_F(RootfsCacheTest, StaysWithinItsBudgetEvictingTheLeastRecentlyUsedThatNobodyHolds) {
  std::vector<std::string> digests;
  const std::map<std::string, fs::path> archives = MegabyteArchives("abc", &digests);
  const uint64_t budget = (5u << 20) / 2;
  RootfsCache cache((base_ / "cache").string(), budget, Serve(archives));
  absl::StatusOr<RootfsCache::Lease> a = cache.Get(digests[0]);
  ASSERT_TRUE(a.ok()) << a.status();
  const fs::path a_root = a->path();
  fs::path b_root;
  {
    absl::StatusOr<RootfsCache::Lease> b = cache.Get(digests[1]);
    ASSERT_TRUE(b.ok()) << b.status();
    b_root = b->path();
  }  // released: b was used after a, but nobody holds it
  absl::StatusOr<RootfsCache::Lease> c = cache.Get(digests[2]);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(fs::exists(a_root / "data")) << "a is held, so it stays";
  EXPECT_FALSE(fs::exists(b_root)) << "b was the one nobody held";
  EXPECT_TRUE(fs::exists(fs::path(c->path()) / "data"));
  EXPECT_LE(cache.DiskBytes(), budget);
  EXPECT_EQ(fetched_.load(), 3);

  // Released, a is the one nobody holds: fetching b again evicts it.
  a->Release();
  absl::StatusOr<RootfsCache::Lease> again = cache.Get(digests[1]);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(fetched_.load(), 4);
  EXPECT_FALSE(fs::exists(a_root));
  EXPECT_TRUE(fs::exists(fs::path(again->path()) / "data"));
  EXPECT_TRUE(fs::exists(fs::path(c->path()) / "data"));
  EXPECT_LE(cache.DiskBytes(), budget);
}

// Another worker on the host (another cache on the same directory) holds a
// root filesystem: a worker with a smaller budget does not delete it under
// it, stays above its budget while it is held, and evicts it at its next
// release once it is not.
TEST_F(RootfsCacheTest, NeverDeletesWhatAnotherWorkerOnTheHostUses) {
  std::vector<std::string> digests;
  const std::map<std::string, fs::path> archives = MegabyteArchives("ab", &digests);
  RootfsCache roomy((base_ / "cache").string(), 0, Serve(archives));
  absl::StatusOr<RootfsCache::Lease> held = roomy.Get(digests[0]);
  ASSERT_TRUE(held.ok()) << held.status();
  const fs::path held_root = held->path();

  const uint64_t budget = (3u << 20) / 2;  // room for one
  RootfsCache tight((base_ / "cache").string(), budget, Serve(archives));
  {
    absl::StatusOr<RootfsCache::Lease> b = tight.Get(digests[1]);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_TRUE(fs::exists(held_root / "data")) << "the other worker's root filesystem went";
    EXPECT_GT(tight.DiskBytes(), budget);
  }  // released, b is the only one nobody holds, so it goes
  EXPECT_TRUE(fs::exists(held_root / "data"));
  EXPECT_LE(tight.DiskBytes(), budget);

  held->Release();
  // The tight worker is within budget again; the next time it is not, the
  // one the other worker released is fair game.
  absl::StatusOr<RootfsCache::Lease> b_again = tight.Get(digests[1]);
  ASSERT_TRUE(b_again.ok()) << b_again.status();
  EXPECT_FALSE(fs::exists(held_root));
  EXPECT_LE(tight.DiskBytes(), budget);
}

// A fetch killed midway leaves a directory without `complete`; the next
// worker to start removes it, unless a fetch of it is under way.
TEST_F(RootfsCacheTest, RemovesWhatACrashedFetchLeftBehind) {
  const std::string digest = DigestOfFile(base_ / "good.tar");
  const fs::path leftover = base_ / "cache" / DigestHex(digest) / "rootfs/bin";
  fs::create_directories(leftover);
  std::ofstream(leftover / "half") << "half";
  RootfsCache cache((base_ / "cache").string(), 1 << 30, Serve({{digest, base_ / "good.tar"}}));
  EXPECT_FALSE(fs::exists(leftover));
  absl::StatusOr<RootfsCache::Lease> root = cache.Get(digest);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_TRUE(fs::exists(fs::path(root->path()) / "bin/hello"));
}

}  // namespace
}  // namespace fsched::worker
