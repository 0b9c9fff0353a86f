#include "tests/worker/busybox_rootfs.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "worker/child_process.h"
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

namespace {

// `from` (a file or a tree) at the same path under `root`: hard links, or a copy.
bool Place(const fs::path& from, const fs::path& root, std::string* why) {
  const fs::path to = root / from.relative_path();
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  const fs::path real = fs::canonical(from, ec);
  if (ec) {
    *why = "cannot resolve " + from.string() + ": " + ec.message();
    return false;
  }
  const auto options = fs::copy_options::recursive | fs::copy_options::skip_existing;
  fs::copy(real, to, options | fs::copy_options::create_hard_links, ec);
  if (ec) {
    ec.clear();
    fs::copy(real, to, options, ec);
  }
  if (ec) *why = "cannot copy " + real.string() + " to " + to.string() + ": " + ec.message();
  return !ec;
}

}  // namespace

bool MakePythonRootfs(const std::string& dir, std::string* why) {
  if (!MakeBusyboxRootfs(dir, why)) return false;
  absl::StatusOr<std::string> libs = RunTool({"ldd", "/usr/bin/python3"});
  if (!libs.ok()) {
    *why =
        "ldd /usr/bin/python3 (apt-get install python3): " + std::string(libs.status().message());
    return false;
  }
  std::vector<fs::path> files = {"/usr/bin/python3"};
  std::error_code ec;
  const fs::path python = fs::canonical("/usr/bin/python3", ec);
  files.push_back(fs::path("/usr/lib") / python.filename());  // its standard library
  // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)"
  for (absl::string_view line : absl::StrSplit(*libs, '\n')) {
    for (absl::string_view word : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      if (absl::StartsWith(word, "/")) files.emplace_back(std::string(word));
    }
  }
  for (const fs::path& file : files) {
    if (!Place(file, dir, why)) return false;
  }
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
