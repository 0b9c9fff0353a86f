#include "common/sha256.h"

#include <gtest/gtest.h>

namespace fsched {
namespace {

TEST(Sha256Test, MatchesKnownDigests) {
  Sha256 empty;
  EXPECT_EQ(empty.Digest(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;  // FIPS 180-2, appendix B.1, fed in two pieces
  abc.Update("a");
  abc.Update("bc");
  EXPECT_EQ(abc.Digest(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, ValidatesDigestsAndNamesTheField) {
  const std::string good =
      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_TRUE(ValidateDigest(good).ok());
  EXPECT_EQ(DigestHex(good), good.substr(7));
  for (const std::string& bad :
       {std::string(""), std::string("sha256:abc"), good.substr(7), "sha512:" + good.substr(7),
        "sha256:" + std::string(64, 'g'), "sha256:" + std::string(64, 'A'), good + "0"}) {
    const absl::Status s = ValidateDigest(bad, "spec.rootfs_digest");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("spec.rootfs_digest"), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace fsched
