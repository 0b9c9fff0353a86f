#include "worker/rootfs_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
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

// Disk space under `root` as du counts it: allocated blocks, each inode once.
uint64_t DiskUsage(const std::string& root) {
  uint64_t bytes = 0;
  absl::flat_hash_set<std::pair<dev_t, ino_t>> linked;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !linked.insert({st.st_dev, st.st_ino}).second) {
      continue;
    }
    bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return bytes;
}

bool IsHex64(const std::string& name) {
  return name.size() == 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Opens (creating) a lock file and flocks it; an invalid Fd when it cannot
// (with LOCK_NB: also when someone else holds it).
Fd LockFile(const std::string& path, int operation) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.valid() && ::flock(fd.get(), operation) != 0) fd.reset();
  return fd;
}

}  // namespace

class RootfsCache::Shared {
 public:
  Shared(std::string dir, uint64_t budget_bytes, Fetch fetch)
      : dir_(std::move(dir)), budget_bytes_(budget_bytes), fetch_(std::move(fetch)) {}

  absl::StatusOr<Lease> Get(const std::shared_ptr<Shared>& self, const std::string& digest);
  void Release(const std::string& hex);
  void RemoveAbandoned();
  void Evict();
  uint64_t DiskBytes() const;

 private:
  // This process's users of one root filesystem; `use_lock` holds a shared
  // flock on <hex>.use while `count` > 0.
  struct Use {
    absl::Mutex mu;
    int count ABSL_GUARDED_BY(mu) = 0;
    Fd use_lock ABSL_GUARDED_BY(mu);
  };
  struct Entry {
    std::string hex;
    uint64_t bytes = 0;
    fs::file_time_type used;
  };
  std::string Path(const std::string& hex) const { return absl::StrCat(dir_, "/", hex); }
  std::shared_ptr<Use> UseOf(const std::string& hex);
  absl::Status Fill(const std::string& digest, const std::string& entry);
  absl::Status FetchAndUnpack(const std::string& digest, const std::string& root);
  // Deletes an entry nobody on the host uses; false when someone does (or
  // this process is fetching it right now).
  bool Remove(const std::string& hex);
  // The complete entries on disk, whoever fetched them.
  std::vector<Entry> Entries() const;

  const std::string dir_;
  const uint64_t budget_bytes_;
  const Fetch fetch_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Use>> uses_ ABSL_GUARDED_BY(mu_);
  absl::Mutex evict_mu_;  // one eviction pass at a time
  std::atomic<bool> over_budget_{false};
};

std::shared_ptr<RootfsCache::Shared::Use> RootfsCache::Shared::UseOf(const std::string& hex) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Use>& use = uses_[hex];
  if (!use) use = std::make_shared<Use>();
  return use;
}

absl::StatusOr<RootfsCache::Lease> RootfsCache::Shared::Get(const std::shared_ptr<Shared>& self,
                                                            const std::string& digest) {
  if (absl::Status s = ValidateDigest(digest, "rootfs_digest"); !s.ok()) return s;
  const std::string hex = DigestHex(digest);
  const std::string entry = Path(hex);
  std::shared_ptr<Use> use = UseOf(hex);
  bool fetched = false;
  {
    absl::MutexLock lock(&use->mu);
    if (use->count == 0) {
      std::error_code ec;
      fs::create_directories(dir_, ec);
      // Shared: waits only while an eviction deletes it.
      use->use_lock = LockFile(entry + ".use", LOCK_SH);
      if (!use->use_lock.valid()) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot lock ", entry, ".use: ", std::strerror(errno)));
      }
      if (!fs::exists(entry + "/complete", ec)) {
        if (absl::Status s = Fill(digest, entry); !s.ok()) {
          use->use_lock.reset();
          return s;
        }
        fetched = true;
      } else {
        ::utimensat(AT_FDCWD, (entry + "/complete").c_str(), nullptr, 0);
      }
    }
    ++use->count;
  }
  Lease lease;
  lease.shared_ = self;
  lease.hex_ = hex;
  lease.path_ = entry + "/rootfs";
  if (fetched && budget_bytes_ > 0) Evict();
  return lease;
}

absl::Status RootfsCache::Shared::Fill(const std::string& digest, const std::string& entry) {
  // Exclusive among fetchers: another worker may be fetching it right now.
  Fd fetch_lock = LockFile(entry + ".lock", LOCK_EX);
  if (!fetch_lock.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot lock ", entry, ".lock: ", std::strerror(errno)));
  }
  std::error_code ec;
  if (fs::exists(entry + "/complete", ec)) return absl::OkStatus();  // the other one got it
  const std::string root = entry + "/rootfs";
  if (absl::Status s = FetchAndUnpack(digest, root); !s.ok()) {
    fs::remove_all(entry, ec);
    return s;
  }
  const uint64_t bytes = DiskUsage(root);
  { std::ofstream(entry + "/complete.new") << digest << "\n" << bytes << "\n"; }
  fs::rename(entry + "/complete.new", entry + "/complete", ec);
  if (ec) {
    fs::remove_all(entry, ec);
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", entry, "/complete"));
  }
  FSCHED_LOG(kInfo, "root filesystem %s unpacked: %d bytes", digest, bytes);
  return absl::OkStatus();
}

absl::Status RootfsCache::Shared::FetchAndUnpack(const std::string& digest,
                                                 const std::string& root) {
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

void RootfsCache::Shared::Release(const std::string& hex) {
  std::shared_ptr<Use> use = UseOf(hex);
  {
    absl::MutexLock lock(&use->mu);
    if (--use->count > 0) return;
    // Least recently used is counted from the end of the last use.
    ::utimensat(AT_FDCWD, (Path(hex) + "/complete").c_str(), nullptr, 0);
    use->use_lock.reset();
  }
  if (over_budget_.load()) Evict();
}

std::vector<RootfsCache::Shared::Entry> RootfsCache::Shared::Entries() const {
  std::vector<Entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string hex = it->path().filename().string();
    if (!IsHex64(hex)) continue;
    const std::string complete = (it->path() / "complete").string();
    std::error_code time_ec;
    const fs::file_time_type used = fs::last_write_time(complete, time_ec);
    if (time_ec) continue;  // being fetched, or abandoned
    std::ifstream in(complete);
    std::string digest, size;
    std::getline(in, digest);
    std::getline(in, size);
    uint64_t bytes = 0;
    // Entries unpacked before sizes were recorded are measured now.
    if (!absl::SimpleAtoi(size, &bytes)) bytes = DiskUsage((it->path() / "rootfs").string());
    out.push_back({hex, bytes, used});
  }
  return out;
}

uint64_t RootfsCache::Shared::DiskBytes() const {
  uint64_t total = 0;
  for (const Entry& e : Entries()) total += e.bytes;
  return total;
}

void RootfsCache::Shared::RemoveAbandoned() {
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string hex = it->path().filename().string();
    if (!IsHex64(hex) || fs::exists(it->path() / "complete")) continue;
    // Nobody fetching it (a fetcher holds <hex>.use shared): a crash's leftover.
    Fd exclusive = LockFile(it->path().string() + ".use", LOCK_EX | LOCK_NB);
    if (!exclusive.valid() || fs::exists(it->path() / "complete")) continue;
    std::error_code remove_ec;
    fs::remove_all(it->path(), remove_ec);
    FSCHED_LOG(kInfo, "removed the half-unpacked root filesystem %s", it->path().string());
  }
}

bool RootfsCache::Shared::Remove(const std::string& hex) {
  std::shared_ptr<Use> use = UseOf(hex);
  if (!use->mu.TryLock()) return false;
  bool removed = false;
  // Held shared by any worker on the host that uses it.
  if (use->count == 0) {
    const std::string entry = Path(hex);
    if (Fd exclusive = LockFile(entry + ".use", LOCK_EX | LOCK_NB); exclusive.valid()) {
      std::error_code ec;
      fs::remove(entry + "/complete", ec);  // first: a crash midway leaves it incomplete
      fs::remove_all(entry, ec);
      removed = true;
    }
  }
  use->mu.Unlock();
  return removed;
}

void RootfsCache::Shared::Evict() {
  absl::MutexLock evicting(&evict_mu_);
  std::vector<Entry> entries = Entries();
  uint64_t total = 0;
  for (const Entry& e : entries) total += e.bytes;
  if (total <= budget_bytes_) {
    over_budget_.store(false);
    return;
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& e : entries) {
    if (total <= budget_bytes_) break;
    if (!Remove(e.hex)) continue;
    total -= std::min(total, e.bytes);
    FSCHED_LOG(kInfo,
               "evicted root filesystem %s (%d bytes; the cache holds %d bytes, "
               "worker.rootfs_cache_bytes is %d)",
               e.hex, e.bytes, total, budget_bytes_);
  }
  const bool over = total > budget_bytes_;
  if (over && !over_budget_.load()) {
    FSCHED_LOG(kWarning,
               "root filesystems in use hold %d bytes, above worker.rootfs_cache_bytes (%d); "
               "the least recently used go as soon as nothing uses them",
               total, budget_bytes_);
  }
  over_budget_.store(over);
}

RootfsCache::Lease& RootfsCache::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    shared_ = std::move(other.shared_);
    hex_ = std::move(other.hex_);
    path_ = std::move(other.path_);
  }
  return *this;
}

void RootfsCache::Lease::Release() {
  if (shared_ == nullptr) return;
  shared_->Release(hex_);
  shared_.reset();
  path_.clear();
}

RootfsCache::RootfsCache(std::string dir, uint64_t budget_bytes, Fetch fetch)
    : shared_(std::make_shared<Shared>(std::move(dir), budget_bytes, std::move(fetch))) {
  shared_->RemoveAbandoned();
  if (budget_bytes > 0) shared_->Evict();
}

RootfsCache::~RootfsCache() = default;

absl::StatusOr<RootfsCache::Lease> RootfsCache::Get(const std::string& digest) {
  return shared_->Get(shared_, digest);
}

uint64_t RootfsCache::DiskBytes() const { return shared_->DiskBytes(); }

}  // namespace fsched::worker
