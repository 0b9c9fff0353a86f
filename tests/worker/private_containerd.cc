#include "tests/worker/private_containerd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/sha256.h"
#include "worker/child_process.h"
#include "worker/fd.h"

namespace fsched::worker::testing {
namespace {

namespace fs = std::filesystem;

bool WaitExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != 0) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

// Writes `data` as a blob of the layout at `dir`; its digest and size.
std::pair<std::string, size_t> PutBlob(const fs::path& dir, const std::string& data) {
  Sha256 hash;
  hash.Update(data);
  const std::string digest = hash.Digest();
  std::ofstream(dir / "blobs" / "sha256" / DigestHex(digest), std::ios::binary) << data;
  return {digest, data.size()};
}

}  // namespace

std::unique_ptr<PrivateContainerd> PrivateContainerd::Start(const std::string& dir,
                                                            std::string* why) {
  if (!RunTool({"containerd", "--version"}).ok() || !RunTool({"ctr", "--version"}).ok()) {
    *why = "containerd is not installed (scripts/setup.sh installs it)";
    return nullptr;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  {
    // Only what the tests need: no CRI (Kubernetes) plugin.
    std::ofstream config(dir + "/config.toml");
    config << "version = 2\n"
           << "root = \"" << dir << "/root\"\n"
           << "state = \"" << dir << "/state\"\n"
           << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
           << "[grpc]\n  address = \"" << dir << "/containerd.sock\"\n"
           << "[ttrpc]\n  address = \"" << dir << "/containerd.sock.ttrpc\"\n";
  }
  Fd log(
      ::open((dir + "/containerd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int stdio[3] = {null.get(), log.get(), log.get()};
  pid_t pid = -1;
  if (const int error = SpawnChild({"containerd", "--config", dir + "/config.toml"}, {kToolPath},
                                   stdio, "", &pid);
      error != 0) {
    *why = absl::StrCat("cannot run containerd: ", std::strerror(error));
    return nullptr;
  }
  std::unique_ptr<PrivateContainerd> daemon(new PrivateContainerd(dir, pid));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!RunTool({"ctr", "--address", daemon->address(), "version"}, absl::Seconds(5)).ok()) {
    int status = 0;
    if (absl::Now() > deadline || ::waitpid(pid, &status, WNOHANG) == pid) {
      *why = absl::StrCat("containerd did not come up: ", daemon->LogTail(800));
      return nullptr;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return daemon;
}

std::string PrivateContainerd::LogTail(size_t bytes) const {
  std::ifstream in(dir_ + "/containerd.log");
  std::stringstream text;
  text << in.rdbuf();
  std::string tail = text.str();
  return tail.size() > bytes ? tail.substr(tail.size() - bytes) : tail;
}

PrivateContainerd::~PrivateContainerd() {
  ::kill(pid_, SIGTERM);
  if (!WaitExit(pid_, absl::Seconds(10))) {
    ::kill(pid_, SIGKILL);
    WaitExit(pid_, absl::Seconds(5));
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool PrivateContainerd::ImportRootfs(const std::string& rootfs, const std::string& name,
                                     const std::string& ns, std::string* why) const {
  const fs::path layout = fs::path(dir_) / "image";
  std::error_code ec;
  fs::remove_all(layout, ec);
  fs::create_directories(layout / "blobs" / "sha256", ec);
  const std::string layer_tar = dir_ + "/layer.tar";
  // The test root filesystems are hard links to the host's files, which other
  // test processes link too at the same time: each new link changes a shared
  // inode's ctime, and GNU tar then says "file changed as we read it" and exits
  // 1 ("some files differ") with the archive complete. Their contents do not
  // change, so that status is taken as success; 2 (a fatal error) is not.
  if (absl::StatusOr<std::string> tar =
          RunTool({"sh", "-c",
                   "tar --create --warning=no-file-changed --file \"$1\" --directory \"$2\" .; "
                   "status=$?; [ \"$status\" -le 1 ] || exit \"$status\"",
                   "tar", layer_tar, rootfs});
      !tar.ok()) {
    *why = std::string(tar.status().message());
    return false;
  }
  std::ifstream in(layer_tar, std::ios::binary);
  std::stringstream layer;
  layer << in.rdbuf();
  const auto [layer_digest, layer_size] = PutBlob(layout, layer.str());
#if defined(__aarch64__)
  const char* arch = "arm64";
#else
  const char* arch = "amd64";
#endif
  const auto [config_digest, config_size] = PutBlob(
      layout, absl::StrFormat(R"({"architecture":"%s","os":"linux","config":{"Env":)"
                              R"(["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["%s"]}})",
                              arch, layer_digest));
  const auto [manifest_digest, manifest_size] = PutBlob(
      layout, absl::StrFormat(
                  R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                  R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json",)"
                  R"("digest":"%s","size":%d},"layers":[{"mediaType":)"
                  R"("application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]})",
                  config_digest, config_size, layer_digest, layer_size));
  std::ofstream(layout / "oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
  std::ofstream(layout / "index.json")
      << absl::StrFormat(R"({"schemaVersion":2,"manifests":[{"mediaType":)"
                         R"("application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,)"
                         R"("annotations":{"io.containerd.image.name":"%s"}}]})",
                         manifest_digest, manifest_size, name);
  const std::string archive = dir_ + "/image.tar";
  for (const std::vector<std::string>& step :
       {std::vector<std::string>{"tar", "--create", "--file", archive, "--directory",
                                 layout.string(), "."},
        std::vector<std::string>{"ctr", "--address", address_, "--namespace", ns, "images",
                                 "import", archive}}) {
    if (absl::StatusOr<std::string> r = RunTool(step, absl::Minutes(2)); !r.ok()) {
      *why = std::string(r.status().message());
      return false;
    }
  }
  return true;
}

}  // namespace fsched::worker::testing
