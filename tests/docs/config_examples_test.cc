// Every configuration example the repository shows a user (each ```yaml block
// in README.md and docs/*.md) loads with every rule fsched-master and
// fsched-worker apply: operators copy them, so they must start a process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/proto_time.h"
#include "tests/fixtures/config_rules.h"

namespace fsched {
namespace {

struct Example {
  std::string file;
  int line = 0;
  std::string yaml;
};

std::vector<Example> YamlBlocks(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<Example> blocks;
  std::string line;
  int number = 0;
  Example* open = nullptr;
  while (std::getline(in, line)) {
    ++number;
    if (open == nullptr && line == "```yaml") {
      blocks.push_back({path.filename().string(), number, ""});
      open = &blocks.back();
    } else if (open != nullptr && line.rfind("```", 0) == 0) {
      open = nullptr;
    } else if (open != nullptr) {
      open->yaml += line + "\n";
    }
  }
  return blocks;
}

std::vector<Example> AllExamples() {
  const std::filesystem::path root(FSCHED_SOURCE_DIR);
  std::vector<Example> all = YamlBlocks(root / "README.md");
  for (const auto& entry : std::filesystem::directory_iterator(root / "docs")) {
    if (entry.path().extension() != ".md") continue;
    for (Example& e : YamlBlocks(entry.path())) all.push_back(std::move(e));
  }
  return all;
}

TEST(ConfigExamplesTest, EveryYamlBlockInTheDocsLoadsAsMasterAndAsWorker) {
  const std::vector<Example> examples = AllExamples();
  ASSERT_GE(examples.size(), 3u);  // README's reference, network emulation, TLS at least
  for (const Example& e : examples) {
    for (config::v1::NodeRole role : {config::v1::NODE_ROLE_MASTER, config::v1::NODE_ROLE_WORKER}) {
      absl::StatusOr<Config> config = testing::LoadAsProcess(e.yaml, role);
      EXPECT_TRUE(config.ok()) << e.file << ":" << e.line << " as " << ConfigEnumName(role) << ": "
                               << config.status() << "\n"
                               << e.yaml;
    }
  }
}

// The README's reference block says what the defaults are: it must mean them.
TEST(ConfigExamplesTest, TheReadmeReferenceMeansWhatItSays) {
  const std::vector<Example> readme =
      YamlBlocks(std::filesystem::path(FSCHED_SOURCE_DIR) / "README.md");
  ASSERT_FALSE(readme.empty());
  absl::StatusOr<Config> config =
      testing::LoadAsProcess(readme.front().yaml, config::v1::NODE_ROLE_MASTER);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cluster().max_rootfs_bytes(), 2ull << 30);
  EXPECT_EQ(config->worker().runc(), config::v1::SWITCH_AUTO);
  EXPECT_EQ(config->worker().warm_memory_bytes(), 1ull << 30);
  EXPECT_TRUE(config->worker().cpu_priority());
  EXPECT_EQ(config->tail_scheduler().soft_f2c_threshold(), 1.7);
  EXPECT_EQ(FromProto(config->tail_scheduler().sample_interval()), absl::Seconds(2));
}

}  // namespace
}  // namespace fsched
