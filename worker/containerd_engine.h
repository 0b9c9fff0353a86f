// Image-based containers through containerd, driven with its `ctr` client:
// the function names an image already in containerd (pulled or imported into
// the worker's namespace), containerd's snapshotter gives each container a
// copy-on-write root from it, and `ctr tasks start` holds the shim's stdio
// for the container's life. This is how fsched uses a K3s node's containerd.
#pragma once

#include <string>
#include <vector>

#include "worker/cgroup.h"
#include "worker/container_engine.h"

namespace fsched::worker {

class ContainerdEngine final : public ContainerEngine {
 public:
  struct Options {
    std::string ctr = "ctr";
    std::string address =
        "/run/containerd/containerd.sock";  // K3s: /run/k3s/containerd/containerd.sock
    std::string ns = "fsched";              // the containerd namespace; cgroups are /<ns>/<id>
    std::string snapshotter;                // empty = containerd's default
    const Cgroups* cgroups = nullptr;       // for the limits ctr has no flag for (pids)
  };
  explicit ContainerdEngine(Options options) : options_(std::move(options)) {}

  std::string_view name() const override { return "containerd"; }
  bool prewarm_starts() const override { return true; }
  bool uses_images() const override { return true; }
  absl::Status Check() const override;
  absl::Status Create(const ContainerSpec& spec, EngineInstance& instance,
                      const int stdio[3]) const override;
  absl::Status Start(EngineInstance& instance, const int stdio[3]) const override;
  absl::Status Freeze(const EngineInstance& instance, bool frozen) const override;
  void Remove(EngineInstance& instance) const override;
  std::string Cgroup(const std::string& id) const override;
  absl::StatusOr<std::vector<std::string>> ListIds() const override;

  /// The `ctr` arguments that create `instance` from `spec` (tests check them).
  std::vector<std::string> CreateCommand(const ContainerSpec& spec,
                                         const EngineInstance& instance) const;

 private:
  std::vector<std::string> Command(std::initializer_list<std::string> args) const;
  const Options options_;
};

}  // namespace fsched::worker
