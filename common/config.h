// The loading machinery for fsched's one YAML configuration format. The schema
// is protobuf (proto/fsched/config/v1/): each key, its default and its range are
// declared there once, and this file reads YAML into it, checks it and prints
// it back, knowing nothing of any section. Cross-field rules belong to the
// component that owns a section (common/daemon_config, master/master_config,
// worker/worker_config, routing/routing_config).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fsched/config/v1/config.pb.h"

namespace fsched {

using Config = config::v1::Config;
using NodeConfig = config::v1::NodeConfig;
using ClusterConfig = config::v1::ClusterConfig;
using SchedulerConfig = config::v1::SchedulerConfig;
using WorkerConfig = config::v1::WorkerConfig;
using SimulatorConfig = config::v1::SimulatorConfig;
using TailSchedulerConfig = config::v1::TailSchedulerConfig;
using NetworkEmulationConfig = config::v1::NetworkEmulationConfig;
using MetricsConfig = config::v1::MetricsConfig;
using TlsConfig = config::v1::TlsConfig;
using TopologyEntry = config::v1::TopologyEntry;

/// A value given outside the YAML (a command-line flag), applied over every
/// document: `path` is the key's dotted path ("cluster.join_token"), `value`
/// is written as in YAML.
struct ConfigOverride {
  std::string path;
  std::string value;
};

/// Reads YAML into `out` through protobuf's JSON mapping: first the defaults the
/// schema declares, then `yaml_text` (maps merge key by key, anything else
/// replaces), then `overrides`; then checks every field's declared rules.
/// Durations are written "500ms", "2s", "1m30s" or as seconds; byte sizes
/// "64KiB", "2GiB"; enums by their lower-case names ("aging-srtf" style).
/// \return INVALID_ARGUMENT "config: <path>: <what>" naming the offending key,
///   for malformed YAML, unknown keys (with the allowed ones), wrong types and
///   values out of range.
absl::Status ReadYamlInto(absl::string_view yaml_text, const std::vector<ConfigOverride>& overrides,
                          google::protobuf::Message* out);

/// ReadYamlInto for the whole configuration. An empty document yields the defaults.
absl::StatusOr<Config> ParseConfig(absl::string_view yaml_text,
                                   const std::vector<ConfigOverride>& overrides = {});

/// Reads and parses a file (NOT_FOUND if it cannot be read); errors name the file.
absl::StatusOr<Config> LoadConfigFile(const std::string& path,
                                      const std::vector<ConfigOverride>& overrides = {});

/// Checks the rules the schema declares (ranges, formats, required keys) on a
/// message built or changed in code. `where` prefixes the paths in messages.
/// \return INVALID_ARGUMENT "<where>.<key>: <what>".
absl::Status CheckFieldRules(const google::protobuf::Message& message,
                             absl::string_view where = "");

/// Sets every declared default in `message` (aborts if the schema's own defaults
/// do not parse: a test catches that before it ships).
void FillConfigDefaults(google::protobuf::Message* message);

/// A message of the schema holding its declared defaults.
template <typename Section>
Section DefaultConfig() {
  Section section;
  FillConfigDefaults(&section);
  return section;
}

/// Renders a message of the schema as YAML that ReadYamlInto reads back;
/// secrets are printed as <redacted>.
std::string ConfigToYaml(const google::protobuf::Message& message);

/// The name an enum value has in the YAML ("NODE_ROLE_ZONE_MASTER" -> "zone-master").
std::string ConfigEnumName(const google::protobuf::EnumDescriptor* type, int value);
template <typename Enum>
std::string ConfigEnumName(Enum value) {
  return ConfigEnumName(google::protobuf::GetEnumDescriptor<Enum>(), static_cast<int>(value));
}

/// Parses "500ms", "2s", "1m30s"; also a bare number of seconds.
absl::StatusOr<absl::Duration> ParseDurationText(const std::string& text);

/// Parses "1048576", "64KiB", "1MiB", "2GiB", "1MB".
absl::StatusOr<uint64_t> ParseByteSize(const std::string& text);

}  // namespace fsched
