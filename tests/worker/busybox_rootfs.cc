#include "tests/worker/busybox_rootfs.h"

#include <unistd.h>

#include <filesystem>

#include "worker/mounts.h"

namespace fsched::worker::testing {

namespace fs = std::filesystem;

bool MakeBusyboxRootfs(const std::string& dir, std::string* why) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(fs::path(dir) / "bin", ec);
  for (const char* d : {"proc", "dev", "sys", "tmp", "work"})
    fs::create_directories(fs::path(dir) / d, ec);
  fs::copy_file("/bin/busybox", fs::path(dir) / "bin" / "busybox", ec);
  if (ec) {
    *why = "cannot copy /bin/busybox (apt-get install busybox-static): " + ec.message();
    return false;
  }
  for (const char* tool : {"sh", "cat", "touch", "echo", "ls", "wc", "grep", "id", "sleep", "head",
                           "dd", "kill", "true", "false", "yes", "sha256sum"}) {
    fs::create_symlink("busybox", fs::path(dir) / "bin" / tool, ec);
  }
  // runc gives a tmpfs the mode of the directory it covers, so /tmp is 1777
  // here as in any distribution's root filesystem.
  fs::permissions(fs::path(dir) / "tmp", fs::perms::all | fs::perms::sticky_bit, ec);
  // Readable by the unprivileged user functions run as.
  fs::permissions(dir,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                      fs::perms::others_read | fs::perms::others_exec,
                  ec);
  return true;
}

std::string WhyNoContainers() {
  if (geteuid() != 0) return "runc needs root here";
  // runc remounts "/" before it builds a container's root, which the kernel
  // refuses when "/" is not a mount point: inside a plain chroot.
  if (!fsched::worker::IsMountPoint("/")) {
    return "/ is not a mount point (a chroot): runc cannot build a container root here";
  }
  return "";
}

}  // namespace fsched::worker::testing
