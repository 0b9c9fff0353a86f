#include "tests/worker/fake_resctrl.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fsched::worker::testing {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

}  // namespace

void MakeFakeResctrl(const std::string& root, const std::string& cbm_mask, int num_closids,
                     int min_cbm_bits, const std::string& shareable_bits) {
  const fs::path r(root);
  Write(r / "info" / "L3" / "cbm_mask", cbm_mask + "\n");
  Write(r / "info" / "L3" / "num_closids", std::to_string(num_closids) + "\n");
  Write(r / "info" / "L3" / "min_cbm_bits", std::to_string(min_cbm_bits) + "\n");
  Write(r / "info" / "L3" / "shareable_bits", shareable_bits + "\n");
  Write(r / "info" / "last_cmd_status", "ok\n");
  Write(r / "schemata", "    L3:0=" + cbm_mask + ";1=" + cbm_mask + "\n    MB:0=100;1=100\n");
  Write(r / "tasks", "1\n");
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string RootL3Line(const std::string& root) {
  std::istringstream lines(ReadText(root + "/schemata"));
  for (std::string line; std::getline(lines, line);) {
    const size_t start = line.find_first_not_of(" \t");
    if (start != std::string::npos && line.compare(start, 3, "L3:") == 0) {
      return line.substr(start, line.find_last_not_of(" \t\r") + 1 - start);
    }
  }
  return "";
}

}  // namespace fsched::worker::testing
