#include "common/flag_file.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fsched {
namespace {

absl::Status ApplyNode(const std::string& path, const YAML::Node& root) {
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected a mapping of flag names to values"));
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = absl::StrCat(path, ": ", key);
    if (key == "config" || key == "flagfile" || absl::StartsWith(key, "help")) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not allowed in a file"));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(key);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": no such flag (see --help)"));
    }
    std::string value;
    const YAML::Node& node = entry.second;
    if (node.IsScalar()) {
      value = node.Scalar();
    } else if (node.IsSequence()) {
      std::vector<std::string> items;
      for (const auto& item : node) {
        if (!item.IsScalar()) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": list items must be scalars"));
        }
        items.push_back(item.Scalar());
      }
      value = absl::StrJoin(items, ",");
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected a value or a list"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyFlagFile(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(absl::StrCat("config file ", path, " not found"));
  }
  // yaml-cpp reports syntax and conversion errors only by exception; they stop here.
  try {
    return ApplyNode(path, YAML::LoadFile(path));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
}

std::string FindConfigArgument(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    for (std::string_view prefix : {"--config=", "-config="}) {
      if (arg.substr(0, prefix.size()) == prefix) return std::string(arg.substr(prefix.size()));
    }
    if ((arg == "--config" || arg == "-config") && i + 1 < argc) return argv[i + 1];
  }
  return "";
}

}  // namespace fsched
