// A containerd daemon of the test's own (socket, root and state under a
// temporary directory), and an image made from a local root filesystem, so the
// containerd runtime is tested against the real daemon with no registry.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace fsched::worker::testing {

class PrivateContainerd {
 public:
  /// Starts containerd under `dir` and waits until it answers. Null with `why`
  /// set where it cannot (not installed, refuses to start).
  static std::unique_ptr<PrivateContainerd> Start(const std::string& dir, std::string* why);
  ~PrivateContainerd();  // stops the daemon and removes `dir`

  const std::string& address() const { return address_; }
  /// The last `bytes` of the daemon's log: printed by a test that failed, since
  /// the log goes with `dir`.
  std::string LogTail(size_t bytes = 4000) const;

  /// Packs `rootfs` as a one-layer OCI image named `name` and imports it into
  /// namespace `ns`; false with `why` set on failure.
  bool ImportRootfs(const std::string& rootfs, const std::string& name, const std::string& ns,
                    std::string* why) const;

 private:
  PrivateContainerd(std::string dir, pid_t pid)
      : dir_(std::move(dir)), address_(dir_ + "/containerd.sock"), pid_(pid) {}
  const std::string dir_;
  const std::string address_;
  const pid_t pid_;
};

}  // namespace fsched::worker::testing
