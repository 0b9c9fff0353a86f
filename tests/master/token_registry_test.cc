#include "master/token_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/auth.h"

namespace fsched::master {
namespace {

using ::testing::HasSubstr;

class TokenRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/fsched-token-registry-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  absl::StatusOr<std::unique_ptr<TokenRegistry>> Open() {
    if (!store_) {
      auto store = FunctionStore::Open(dir_);
      if (!store.ok()) return store.status();
      store_ = std::move(*store);
    }
    TokenRegistry::Options options;
    options.store = store_.get();
    options.directory = &directory_;
    options.clock = RealClock::Get();
    options.admin_token_file = dir_ + "/admin.token";
    return TokenRegistry::Open(std::move(options));
  }
  void Reopen() { store_.reset(); }

  std::string dir_;
  std::unique_ptr<FunctionStore> store_;
  TokenDirectory directory_;
};

TEST_F(TokenRegistryTest, TheFirstOpenWritesTheBootstrapTokenAndLaterOnesKeepIt) {
  auto registry = Open();
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::StatusOr<std::string> admin = ReadTokenFile(dir_ + "/admin.token");
  ASSERT_TRUE(admin.ok()) << admin.status();
  std::optional<v1::Identity> found = directory_.Find(TokenSha256(*admin));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name(), "admin");
  EXPECT_EQ(found->role(), v1::ROLE_ADMIN);

  registry->reset();
  Reopen();
  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(*ReadTokenFile(dir_ + "/admin.token"), *admin);
  EXPECT_TRUE(directory_.Find(TokenSha256(*admin)).has_value());
}

TEST_F(TokenRegistryTest, AReplacedFileReplacesTheAdminTokenAndTheOldOneStops) {
  ASSERT_TRUE(Open().ok());
  const std::string old_token = *ReadTokenFile(dir_ + "/admin.token");
  ASSERT_TRUE(WriteSecretFile(dir_ + "/admin.token", "rotated-by-the-operator\n").ok());
  Reopen();
  ASSERT_TRUE(Open().ok());
  EXPECT_TRUE(directory_.Find(TokenSha256("rotated-by-the-operator")).has_value());
  EXPECT_FALSE(directory_.Find(TokenSha256(old_token)).has_value());
}

TEST_F(TokenRegistryTest, CreatedTokensAreKeptHashedAndRevocationIsDurable) {
  auto registry = Open();
  ASSERT_TRUE(registry.ok());
  absl::StatusOr<v1::CreatedToken> ci = (*registry)->Create("ci", v1::ROLE_DEVELOPER);
  ASSERT_TRUE(ci.ok()) << ci.status();
  EXPECT_TRUE(directory_.Find(TokenSha256(ci->token())).has_value());
  EXPECT_EQ((*registry)->Create("ci", v1::ROLE_INVOKER).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*registry)->Create("x", v1::ROLE_CLUSTER).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT((*registry)->Create("-bad", v1::ROLE_INVOKER).status().message(),
              HasSubstr("starting with a letter or digit"));

  absl::StatusOr<v1::TokenInfo> revoked = (*registry)->Revoke("ci");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->has_revoked());
  EXPECT_FALSE(directory_.Find(TokenSha256(ci->token())).has_value());
  EXPECT_EQ((*registry)->Revoke("nobody").status().code(), absl::StatusCode::kNotFound);
  // Revoked names stay taken.
  EXPECT_EQ((*registry)->Create("ci", v1::ROLE_INVOKER).status().code(),
            absl::StatusCode::kAlreadyExists);

  registry->reset();
  Reopen();
  auto again = Open();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(directory_.Find(TokenSha256(ci->token())).has_value());
  std::vector<v1::TokenInfo> list = (*again)->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name(), "admin");
  EXPECT_EQ(list[1].name(), "ci");
  EXPECT_TRUE(list[1].has_revoked());
}

TEST_F(TokenRegistryTest, ARevokedBootstrapTokenIsNotRevivedByItsFile) {
  auto registry = Open();
  ASSERT_TRUE(registry.ok());
  const std::string admin = *ReadTokenFile(dir_ + "/admin.token");
  ASSERT_TRUE((*registry)->Revoke("admin").ok());
  registry->reset();
  Reopen();
  ASSERT_TRUE(Open().ok());
  EXPECT_FALSE(directory_.Find(TokenSha256(admin)).has_value());
}

TEST_F(TokenRegistryTest, AnAdminTokenFileReadableByOthersIsRefused) {
  ASSERT_TRUE(WriteSecretFile(dir_ + "/admin.token", "t\n").ok());
  std::filesystem::permissions(dir_ + "/admin.token", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto registry = Open();
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(registry.status().message(), HasSubstr("auth.admin_token_file"));
}

}  // namespace
}  // namespace fsched::master
