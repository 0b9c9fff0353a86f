#include "common/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/token_directory.h"

namespace fsched {
namespace {

using ::testing::HasSubstr;

constexpr char kCluster[] = "cluster-secret";

v1::TokenDirectory DirectoryOf(
    const std::vector<std::tuple<std::string, v1::Role, std::string>>& tokens) {
  v1::TokenDirectory directory;
  for (const auto& [name, role, token] : tokens) {
    v1::TokenHash* hash = directory.add_tokens();
    hash->set_name(name);
    hash->set_role(role);
    hash->set_sha256(TokenSha256(token));
  }
  return directory;
}

class GateTest : public ::testing::Test {
 protected:
  GateTest() {
    directory_.Replace(DirectoryOf({{"ivy", v1::ROLE_INVOKER, "tok-ivy"},
                                    {"dev", v1::ROLE_DEVELOPER, "tok-dev"},
                                    {"ada", v1::ROLE_ADMIN, "tok-ada"}}));
  }
  Gate MakeGate(bool open = false) {
    Gate::Options options;
    options.open = open;
    options.cluster_token = kCluster;
    options.tokens = &directory_;
    return Gate(options);
  }
  TokenDirectory directory_;
};

TEST_F(GateTest, EachRoleReachesExactlyWhatTheMethodDeclares) {
  const Gate gate = MakeGate();
  struct Case {
    std::string bearer, method;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"Bearer tok-ivy", "fsched.v1.Controller.Invoke", absl::StatusCode::kOk},
      {"Bearer tok-ivy", "fsched.v1.Controller.RegisterFunction",
       absl::StatusCode::kPermissionDenied},
      {"Bearer tok-dev", "fsched.v1.Controller.RegisterFunction", absl::StatusCode::kOk},
      {"Bearer tok-dev", "fsched.v1.Cluster.AddWorker", absl::StatusCode::kPermissionDenied},
      {"Bearer tok-ada", "fsched.v1.Cluster.AddWorker", absl::StatusCode::kOk},
      {"Bearer tok-ada", "fsched.v1.Tokens.CreateToken", absl::StatusCode::kOk},
      // Only the cluster's credential reaches the node-to-node methods.
      {"Bearer tok-ada", "fsched.v1.Worker.Join", absl::StatusCode::kPermissionDenied},
      {"Bearer tok-ada", "fsched.v1.WorkerLink.Connect", absl::StatusCode::kPermissionDenied},
      {"Bearer cluster-secret", "fsched.v1.Worker.Join", absl::StatusCode::kOk},
      {"Bearer cluster-secret", "fsched.v1.Controller.Invoke", absl::StatusCode::kOk},
      {"Bearer cluster-secret", "fsched.v1.Controller.RegisterFunction",
       absl::StatusCode::kPermissionDenied},
      {"Bearer cluster-secret", "fsched.v1.Tokens.CreateToken",
       absl::StatusCode::kPermissionDenied},
      // Not a credential at all.
      {"Bearer nope", "fsched.v1.Controller.Invoke", absl::StatusCode::kUnauthenticated},
      {"Bearer nope", "fsched.v1.Worker.Join", absl::StatusCode::kUnauthenticated},
      {"Basic dG9rLWFkYQ==", "fsched.v1.Controller.Invoke", absl::StatusCode::kUnauthenticated},
      {"Bearer ", "fsched.v1.Controller.Invoke", absl::StatusCode::kUnauthenticated},
      {"bearer tok-ada", "fsched.v1.Controller.Invoke", absl::StatusCode::kUnauthenticated},
      {"", "fsched.v1.Controller.Invoke", absl::StatusCode::kUnauthenticated},
      // Fail closed on a method nobody declared.
      {"Bearer tok-ada", "fsched.v1.Controller.NoSuchMethod", absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(gate.Decide(c.bearer, c.method).status().code(), c.code)
        << c.bearer << " " << c.method;
  }
  EXPECT_EQ(gate.Decide(std::nullopt, "fsched.v1.Admin.GetLoad").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(GateTest, AnswersNameTheCallerAndWhatIsMissing) {
  const Gate gate = MakeGate();
  absl::StatusOr<v1::Identity> ivy = gate.Decide("Bearer tok-ivy", "fsched.v1.Admin.GetLoad");
  ASSERT_TRUE(ivy.ok());
  EXPECT_EQ(ivy->name(), "ivy");
  EXPECT_EQ(ivy->role(), v1::ROLE_INVOKER);
  EXPECT_EQ(ivy->source(), "token");
  absl::StatusOr<v1::Identity> node = gate.Decide("Bearer cluster-secret", "fsched.v1.Worker.Join");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->role(), v1::ROLE_CLUSTER);

  EXPECT_THAT(gate.Decide("Bearer tok-ivy", "fsched.v1.Admin.SetArchitecture").status().message(),
              HasSubstr("token 'ivy' has role invoker; fsched.v1.Admin.SetArchitecture needs "
                        "role admin"));
  EXPECT_THAT(gate.Decide(std::nullopt, "fsched.v1.Admin.GetLoad").status().message(),
              HasSubstr("authorization: Bearer TOKEN"));
  EXPECT_THAT(gate.Decide("Bearer x", "fsched.v1.WorkerLink.Connect").status().message(),
              HasSubstr("join token rejected"));
}

TEST_F(GateTest, AnOpenGateAdmitsAnyoneButStillRefusesUndeclaredMethods) {
  const Gate gate = MakeGate(/*open=*/true);
  absl::StatusOr<v1::Identity> anyone = gate.Decide(std::nullopt, "fsched.v1.Tokens.CreateToken");
  ASSERT_TRUE(anyone.ok());
  EXPECT_EQ(anyone->source(), "open");
  EXPECT_EQ(gate.Decide(std::nullopt, "fsched.v1.Nope.Nope").status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(GateTest, ARevokedTokenIsRefusedOnceTheDirectoryIsReplaced) {
  const Gate gate = MakeGate();
  ASSERT_TRUE(gate.Decide("Bearer tok-dev", "fsched.v1.Controller.Invoke").ok());
  const uint64_t before = directory_.version();
  directory_.Replace(DirectoryOf({{"ivy", v1::ROLE_INVOKER, "tok-ivy"}}));
  EXPECT_GT(directory_.version(), before);
  EXPECT_EQ(gate.Decide("Bearer tok-dev", "fsched.v1.Controller.Invoke").status().code(),
            absl::StatusCode::kUnauthenticated);
  // The same entries again: no new version, so nothing is pushed to workers.
  const uint64_t after = directory_.version();
  directory_.Replace(DirectoryOf({{"ivy", v1::ROLE_INVOKER, "tok-ivy"}}));
  EXPECT_EQ(directory_.version(), after);
}

TEST(TokenDirectoryTest, ADirectoryCannotGrantTheClustersRole) {
  TokenDirectory directory;
  directory.Replace(DirectoryOf(
      {{"sneaky", v1::ROLE_CLUSTER, "tok-s"}, {"nobody", v1::ROLE_UNSPECIFIED, "tok-n"}}));
  EXPECT_FALSE(directory.Find(TokenSha256("tok-s")).has_value());
  EXPECT_FALSE(directory.Find(TokenSha256("tok-n")).has_value());
  EXPECT_EQ(directory.Snapshot().tokens_size(), 0);
}

TEST(TokenTest, NewTokensAreLongRandomAndUrlSafe) {
  absl::StatusOr<std::string> a = NewToken(), b = NewToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->rfind("fsched_", 0), 0u);
  EXPECT_GE(a->size(), 7u + 43u);
  EXPECT_EQ(
      a->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 7),
      std::string::npos);
  EXPECT_EQ(TokenSha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenTest, TokenFilesAreOwnerOnly) {
  const std::string dir = ::testing::TempDir() + "/fsched-token-files";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/t.token";
  ASSERT_TRUE(WriteSecretFile(path, "  secret-value \nsecond line\n").ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<std::string> read = ReadTokenFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "secret-value");

  ::chmod(path.c_str(), 0640);  // a Kubernetes Secret under an fsGroup
  EXPECT_TRUE(ReadTokenFile(path).ok());
  ::chmod(path.c_str(), 0644);
  EXPECT_THAT(ReadTokenFile(path).status().message(), HasSubstr("chmod 600"));
  EXPECT_EQ(ReadTokenFile(dir + "/absent").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(WriteSecretFile(path, "\n").ok());
  EXPECT_THAT(ReadTokenFile(path).status().message(), HasSubstr("is empty"));
}

TEST(TokenTest, RolesParseByTheirNamesOnly) {
  EXPECT_EQ(*ParseTokenRole("developer"), v1::ROLE_DEVELOPER);
  EXPECT_EQ(ParseTokenRole("cluster").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ParseTokenRole("root").status().message(), HasSubstr("invoker"));
}

}  // namespace
}  // namespace fsched
