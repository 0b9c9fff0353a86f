// Containers through runc directly: the worker writes config.json into the
// bundle and runc creates the container with the shim as its init, waiting
// for `runc start`. The fastest engine (no daemon between worker and kernel).
#pragma once

#include <string>

#include "worker/container_engine.h"

namespace fsched::worker {

class RuncEngine final : public ContainerEngine {
 public:
  struct Options {
    std::string runc = "runc";
    std::string root;  // absolute: runc's state directory
    std::string cgroup_parent = "fsched";
  };
  explicit RuncEngine(Options options) : options_(std::move(options)) {}

  std::string_view name() const override { return "runc"; }
  bool prewarm_starts() const override { return false; }
  bool uses_images() const override { return false; }
  absl::Status Check() const override;
  absl::Status Create(const ContainerSpec& spec, EngineInstance& instance,
                      const int stdio[3]) const override;
  absl::Status Start(EngineInstance& instance, const int stdio[3]) const override;
  absl::Status Freeze(const EngineInstance& instance, bool frozen) const override;
  void Remove(EngineInstance& instance) const override;
  std::string Cgroup(const std::string& id) const override;
  absl::StatusOr<std::vector<std::string>> ListIds() const override;

 private:
  std::vector<std::string> Command(std::initializer_list<std::string> args) const;
  const Options options_;
};

}  // namespace fsched::worker
