#include "master/rootfs_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace fsched::master {
namespace {

namespace fs = std::filesystem;

class RootfsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("rootfs-store-" + std::to_string(getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string DigestOf(const std::string& data) {
  Sha256 h;
  h.Update(data);
  return h.Digest();
}

TEST_F(RootfsStoreTest, StoresByDigestOnlyWhenComplete) {
  auto store = RootfsStore::Open(dir_.string(), 1 << 20);
  ASSERT_TRUE(store.ok()) << store.status();
  auto upload = (*store)->Begin();
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Append("hello ").ok());
  ASSERT_TRUE((*upload)->Expect(DigestOf("hello world")).ok());
  ASSERT_TRUE((*upload)->Append("world").ok());
  EXPECT_TRUE((*store)->List().empty());  // nothing visible before the commit
  absl::StatusOr<v1::Rootfs> stored = (*upload)->Commit();
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->digest(), DigestOf("hello world"));
  EXPECT_EQ(stored->size_bytes(), 11u);
  EXPECT_TRUE((*store)->Has(stored->digest()));
  std::ifstream in(*(*store)->PathOf(stored->digest()));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "hello world");
  ASSERT_EQ((*store)->List().size(), 1u);
  EXPECT_EQ((*store)->List()[0].digest(), stored->digest());
}

TEST_F(RootfsStoreTest, RefusesWrongDigestsOversizeAndEmptyUploadsKeepingNothing) {
  auto store = RootfsStore::Open(dir_.string(), 10);
  ASSERT_TRUE(store.ok());
  {
    auto upload = *(*store)->Begin();
    ASSERT_TRUE(upload->Expect(DigestOf("something else")).ok());
    ASSERT_TRUE(upload->Append("data").ok());
    EXPECT_EQ(upload->Commit().status().code(), absl::StatusCode::kDataLoss);
  }
  {
    auto upload = *(*store)->Begin();
    EXPECT_EQ(upload->Expect("sha256:nothex").code(), absl::StatusCode::kInvalidArgument);
    ASSERT_TRUE(upload->Expect(DigestOf("a")).ok());
    EXPECT_EQ(upload->Expect(DigestOf("b")).code(), absl::StatusCode::kInvalidArgument);
  }
  {
    auto upload = *(*store)->Begin();
    EXPECT_EQ(upload->Append("more than ten bytes").code(), absl::StatusCode::kResourceExhausted);
  }
  {
    auto upload = *(*store)->Begin();
    EXPECT_EQ(upload->Commit().status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE((*store)->List().empty());
  EXPECT_EQ((*store)->PathOf(DigestOf("data")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*store)->PathOf("junk").status().code(), absl::StatusCode::kInvalidArgument);
  // No temporary file survives a failed upload.
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(RootfsStoreTest, RemovesUploadsACrashCutShort) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "upload-1-0.part") << "half";
  auto store = RootfsStore::Open(dir_.string(), 1 << 20);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(fs::is_empty(dir_));
}

// Within the budget of all archives: the least recently used one (uploaded
// or fetched longest ago) that no registered function names goes first; an
// archive that only fits by deleting named ones is refused and deletes nothing.
TEST_F(RootfsStoreTest, ABudgetDeletesTheLeastRecentlyUsedUnnamedArchivesFirst) {
  auto store = RootfsStore::Open(dir_.string(), 100, 30);
  ASSERT_TRUE(store.ok()) << store.status();
  std::set<std::string> named;
  (*store)->set_in_use([&named](const std::string& digest) { return named.contains(digest); });
  const auto put = [&](const std::string& data) -> absl::StatusOr<std::string> {
    auto upload = (*store)->Begin();
    if (!upload.ok()) return upload.status();
    if (absl::Status s = (*upload)->Append(data); !s.ok()) return s;
    absl::StatusOr<v1::Rootfs> stored = (*upload)->Commit();
    if (!stored.ok()) return stored.status();
    return stored->digest();
  };
  // Uses one second apart, so the order does not rest on the clock's resolution.
  const auto used = [&](const std::string& digest, int second) {
    fs::last_write_time(*(*store)->PathOf(digest),
                        fs::file_time_type(std::chrono::seconds(1700000000 + second)));
  };
  const std::string a = *put(std::string(10, 'a'));
  const std::string b = *put(std::string(10, 'b'));
  const std::string c = *put(std::string(10, 'c'));
  used(b, 1);  // oldest, but a function names it
  used(c, 2);
  used(a, 3);
  named.insert(b);
  const absl::StatusOr<std::string> d = put(std::string(10, 'd'));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE((*store)->Has(a));
  EXPECT_TRUE((*store)->Has(b));
  EXPECT_FALSE((*store)->Has(c));  // the least recently used unnamed one
  EXPECT_TRUE((*store)->Has(*d));
  ASSERT_TRUE((*store)->Use(a).ok());  // a worker fetched it: now the most recent

  named.insert(*d);
  const absl::StatusOr<std::string> big = put(std::string(25, 'e'));  // only fits without b or d
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(big.status().message().find("cluster.rootfs_budget_bytes"), std::string::npos);
  EXPECT_TRUE((*store)->Has(a));  // refused: nothing was deleted for it
  EXPECT_EQ((*store)->List().size(), 3u);
}

}  // namespace
}  // namespace fsched::master
