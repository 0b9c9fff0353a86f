#include "common/host_paths.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fsched {
namespace {

std::string NormalForm(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

bool Under(const std::string& normal, const std::string& dir) {
  return normal == dir || absl::StartsWith(normal, dir == "/" ? dir : dir + "/");
}

}  // namespace

absl::Status CheckRootfsDirectory(const std::string& path,
                                  const std::vector<std::string>& allowed_dirs) {
  const auto refused = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("'", path.substr(0, 200), "' ", why));
  };
  if (path.empty() || path[0] != '/') return refused("must be an absolute path on the workers");
  const std::string normal = NormalForm(path);
  for (const char* top : {"/", "/home", "/opt", "/srv", "/tmp", "/var", "/mnt", "/media"}) {
    if (normal == top) return refused(absl::StrCat("is the host's whole ", top));
  }
  for (const char* system : {"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
                             "/proc", "/root", "/run", "/sbin", "/sys", "/usr", "/var/lib",
                             "/var/log", "/var/run", "/var/cache", "/var/spool"}) {
    if (Under(normal, system)) {
      return refused(absl::StrCat("is in the host's system directory ", system));
    }
  }
  if (allowed_dirs.empty()) return absl::OkStatus();
  for (const std::string& dir : allowed_dirs) {
    if (Under(normal, NormalForm(dir))) return absl::OkStatus();
  }
  return refused(absl::StrCat("is under none of the directories allowed for root filesystems (",
                              absl::StrJoin(allowed_dirs, ", "), ")"));
}

}  // namespace fsched
