#include "common/function_call.h"

#include <gtest/gtest.h>

namespace fsched {
namespace {

v1::FunctionSpec Command() {
  v1::FunctionSpec spec;
  spec.set_name("cmd");
  spec.add_command("/bin/cat");
  return spec;
}

TEST(FunctionCallTest, PersistentWhenDeclaredOrHostedByALanguageRuntime) {
  v1::FunctionSpec spec = Command();
  EXPECT_FALSE(IsPersistent(spec));
  spec.set_lifetime(v1::LIFETIME_EXEC);
  EXPECT_FALSE(IsPersistent(spec));
  spec.set_lifetime(v1::LIFETIME_PERSISTENT);
  EXPECT_TRUE(IsPersistent(spec));
  v1::FunctionSpec hosted;
  hosted.set_language("python");
  hosted.set_handler("main:handle");
  EXPECT_TRUE(IsPersistent(hosted));
}

TEST(FunctionCallTest, ArgsReachOnlyFunctionsStartedPerCall) {
  v1::InvokeRequest request;
  request.set_function("f");
  request.set_payload("input");
  v1::FunctionSpec spec = Command();
  EXPECT_TRUE(CheckCallFits(request, spec).ok());
  request.add_args("--verbose");
  EXPECT_TRUE(CheckCallFits(request, spec).ok());

  spec.set_lifetime(v1::LIFETIME_PERSISTENT);
  const absl::Status refused = CheckCallFits(request, spec);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("function cmd runs in persistent instances"), std::string::npos)
      << refused;
  EXPECT_NE(refused.message().find("--payload"), std::string::npos) << refused;
  request.clear_args();
  EXPECT_TRUE(CheckCallFits(request, spec).ok());
}

}  // namespace
}  // namespace fsched
