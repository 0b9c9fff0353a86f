#include "worker/rootfs_cache.h"

#include <sys/file.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/sha256.h"
#include "worker/child_process.h"
#include "worker/fd.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> HashFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(absl::StrCat("cannot read ", path));
  Sha256 hash;
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.Update(absl::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  return hash.Digest();
}

}  // namespace

absl::StatusOr<std::string> RootfsCache::Get(const std::string& digest) {
  if (absl::Status s = ValidateDigest(digest, "rootfs_digest"); !s.ok()) return s;
  const std::string entry = absl::StrCat(dir_, "/", DigestHex(digest));
  const std::string root = entry + "/rootfs";
  std::error_code ec;
  if (fs::exists(entry + "/complete", ec)) return root;

  std::shared_ptr<absl::Mutex> digest_lock;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<absl::Mutex>& slot = locks_[digest];
    if (!slot) slot = std::make_shared<absl::Mutex>();
    digest_lock = slot;
  }
  absl::MutexLock in_process(digest_lock.get());
  fs::create_directories(dir_, ec);
  Fd lock_file(::open((entry + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_file.valid() || ::flock(lock_file.get(), LOCK_EX) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot lock ", entry, ".lock"));
  }
  if (fs::exists(entry + "/complete", ec)) return root;  // another worker got it meanwhile
  absl::Status s = FetchAndUnpack(digest, root);
  if (!s.ok()) {
    fs::remove_all(entry, ec);
    return s;
  }
  std::ofstream(entry + "/complete") << digest << "\n";
  return root;
}

absl::Status RootfsCache::FetchAndUnpack(const std::string& digest, const std::string& root) {
  std::error_code ec;
  const std::string entry = fs::path(root).parent_path().string();
  fs::remove_all(entry, ec);
  fs::create_directories(root, ec);
  if (ec)
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", root, ": ", ec.message()));
  const std::string archive = entry + "/archive.tar";
  if (absl::Status s = fetch_(digest, archive); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("fetching root filesystem ", digest, ": ", s.message()));
  }
  absl::StatusOr<std::string> actual = HashFile(archive);
  if (!actual.ok()) return actual.status();
  if (*actual != digest) {
    return absl::DataLossError(
        absl::StrCat("root filesystem archive ", digest, " arrived as ", *actual));
  }
  // GNU tar refuses members outside the target and defers symlinks that
  // point outside it, so an archive cannot write beyond `root`.
  ChildSpec tar;
  tar.argv = {"tar", "--extract", "--file", archive, "--directory", root};
  tar.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  tar.timeout = absl::Minutes(10);
  tar.output_limit_bytes = 16 * 1024;
  RunControl control;
  const ExecResult r = RunChild(tar, control);
  fs::remove(archive, ec);
  if (r.outcome != v1::OUTCOME_OK) {
    return absl::FailedPreconditionError(absl::StrCat(
        "root filesystem archive ", digest, " is not a tar archive tar can unpack: ",
        absl::StripAsciiWhitespace(r.stderr_data.empty() ? r.message : r.stderr_data)));
  }
  return absl::OkStatus();
}

}  // namespace fsched::worker
