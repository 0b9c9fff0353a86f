#include "common/flag_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/flags/flag.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, experiment_test_rates, "", "test flag");
ABSL_FLAG(absl::Duration, experiment_test_duration, absl::Seconds(1), "test flag");
ABSL_FLAG(int, experiment_test_count, 0, "test flag");

namespace fsched {
namespace {

using ::testing::HasSubstr;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(FlagFileTest, SetsFlagsFromScalarsAndLists) {
  const std::string path = Write("exp-ok.yaml",
                                 "experiment_test_rates: [2, 5, 15]\n"
                                 "experiment_test_duration: 30s\n"
                                 "experiment_test_count: 7\n");
  ASSERT_TRUE(ApplyFlagFile(path).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_experiment_test_rates), "2,5,15");
  EXPECT_EQ(absl::GetFlag(FLAGS_experiment_test_duration), absl::Seconds(30));
  EXPECT_EQ(absl::GetFlag(FLAGS_experiment_test_count), 7);
}

TEST(FlagFileTest, NamesTheKeyThatIsWrong) {
  const struct {
    const char* yaml;
    const char* message;
  } cases[] = {
      {"no_such_flag_anywhere: 1\n", "no_such_flag_anywhere: no such flag"},
      {"experiment_test_count: many\n", "experiment_test_count: "},
      {"experiment_test_count: {a: 1}\n", "experiment_test_count: expected a value or a list"},
      {"experiment_test_rates: [[1]]\n", "list items must be scalars"},
      {"config: other.yaml\n", "config: not allowed in a file"},
      {"- just\n- a list\n", "expected a mapping"},
      {"experiment_test_count: [1\n", "exp-bad.yaml"},
  };
  for (const auto& c : cases) {
    const absl::Status s = ApplyFlagFile(Write("exp-bad.yaml", c.yaml));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message)) << c.yaml;
  }
  EXPECT_EQ(ApplyFlagFile("/no/such/experiment.yaml").code(), absl::StatusCode::kNotFound);
}

TEST(FlagFileTest, FindsConfigInEitherSpelling) {
  const char* a[] = {"bench", "--rates", "2", "--config=exp.yaml"};
  EXPECT_EQ(FindConfigArgument(4, const_cast<char**>(a)), "exp.yaml");
  const char* b[] = {"bench", "--config", "e2.yaml", "--rates", "2"};
  EXPECT_EQ(FindConfigArgument(5, const_cast<char**>(b)), "e2.yaml");
  const char* c[] = {"bench", "--rates", "2", "--", "--config=x"};
  EXPECT_EQ(FindConfigArgument(5, const_cast<char**>(c)), "");
}

}  // namespace
}  // namespace fsched
