#include "master/rootfs_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace fsched::master
