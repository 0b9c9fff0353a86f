#include "master/rootfs_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/proto_time.h"

namespace fsched::master {
namespace {

namespace fs = std::filesystem;

std::atomic<uint64_t> next_upload{0};

}  // namespace

absl::StatusOr<std::unique_ptr<RootfsStore>> RootfsStore::Open(std::string dir, uint64_t max_bytes,
                                                               uint64_t budget_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  // Temporary files of uploads cut short by a crash.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".part") fs::remove(entry.path(), ec);
  }
  return std::unique_ptr<RootfsStore>(new RootfsStore(std::move(dir), max_bytes, budget_bytes));
}

RootfsStore::Upload::Upload(const RootfsStore* store, std::string temp_path)
    : store_(store), temp_path_(std::move(temp_path)), out_(temp_path_, std::ios::binary) {}

RootfsStore::Upload::~Upload() {
  if (!committed_) std::remove(temp_path_.c_str());
}

absl::Status RootfsStore::Upload::Append(absl::string_view data) {
  if (size_ + data.size() > store_->max_bytes_) {
    return absl::ResourceExhaustedError(absl::StrCat("the archive exceeds the master's limit of ",
                                                     store_->max_bytes_ >> 20,
                                                     " MiB (cluster.max_rootfs_bytes)"));
  }
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out_) return absl::InternalError(absl::StrCat("cannot write ", temp_path_));
  hash_.Update(data);
  size_ += data.size();
  return absl::OkStatus();
}

absl::Status RootfsStore::Upload::Expect(const std::string& digest) {
  if (absl::Status s = ValidateDigest(digest, "digest"); !s.ok()) return s;
  if (!expected_.empty() && expected_ != digest) {
    return absl::InvalidArgumentError("chunks name two different digests");
  }
  expected_ = digest;
  return absl::OkStatus();
}

absl::StatusOr<v1::Rootfs> RootfsStore::Upload::Commit() {
  if (size_ == 0) return absl::InvalidArgumentError("the upload is empty");
  out_.close();
  if (!out_) return absl::InternalError(absl::StrCat("cannot write ", temp_path_));
  const std::string digest = hash_.Digest();
  if (!expected_.empty() && expected_ != digest) {
    return absl::DataLossError(
        absl::StrCat("the archive's digest is ", digest, ", not the ", expected_, " announced"));
  }
  const std::string path = absl::StrCat(store_->dir_, "/", DigestHex(digest), ".tar");
  absl::MutexLock lock(&store_->commit_mu_);
  if (absl::Status room = store_->MakeRoom(digest, size_); !room.ok()) return room;
  std::error_code ec;
  fs::rename(temp_path_, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot store ", path, ": ", ec.message()));
  committed_ = true;
  v1::Rootfs rootfs;
  rootfs.set_digest(digest);
  rootfs.set_size_bytes(size_);
  ToProto(absl::Now(), rootfs.mutable_stored());
  return rootfs;
}

absl::StatusOr<std::unique_ptr<RootfsStore::Upload>> RootfsStore::Begin() const {
  const std::string temp =
      absl::StrCat(dir_, "/upload-", getpid(), "-", next_upload.fetch_add(1), ".part");
  std::unique_ptr<Upload> upload(new Upload(this, temp));
  if (!upload->out_) return absl::InternalError(absl::StrCat("cannot create ", temp));
  return upload;
}

bool RootfsStore::Has(const std::string& digest) const { return PathOf(digest).ok(); }

absl::StatusOr<std::string> RootfsStore::PathOf(const std::string& digest) const {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  const std::string path = absl::StrCat(dir_, "/", DigestHex(digest), ".tar");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("no root filesystem archive ", digest, " was uploaded to this master"));
  }
  return path;
}

absl::StatusOr<std::string> RootfsStore::Use(const std::string& digest) const {
  absl::StatusOr<std::string> path = PathOf(digest);
  if (!path.ok()) return path;
  // The file's time is its last use: the order survives a restart.
  std::error_code ec;
  fs::last_write_time(*path, fs::file_time_type::clock::now(), ec);
  return path;
}

absl::Status RootfsStore::MakeRoom(const std::string& digest, uint64_t incoming) const {
  if (budget_bytes_ == 0) return absl::OkStatus();
  struct Stored {
    fs::file_time_type used;
    std::string digest;
    std::string path;
    uint64_t size;
  };
  std::vector<Stored> stored;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".tar") continue;
    const std::string name = absl::StrCat("sha256:", entry.path().stem().string());
    if (name == digest) continue;  // replaced by the same bytes
    const uint64_t size = entry.file_size(ec);
    stored.push_back({fs::last_write_time(entry.path(), ec), name, entry.path().string(), size});
    total += size;
  }
  if (total + incoming <= budget_bytes_) return absl::OkStatus();
  // Least recently used first; what a function names stays. Nothing is
  // deleted unless that makes enough room.
  std::erase_if(stored, [&](const Stored& s) { return in_use_ && in_use_(s.digest); });
  uint64_t evictable = 0;
  for (const Stored& s : stored) evictable += s.size;
  if (total - evictable + incoming > budget_bytes_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the archive (", incoming, " bytes) does not fit the master's archive budget of ",
        budget_bytes_, " bytes (cluster.rootfs_budget_bytes): ", total - evictable,
        " bytes are archives that registered functions name; delete some of those functions "
        "or raise the budget"));
  }
  std::sort(stored.begin(), stored.end(),
            [](const Stored& a, const Stored& b) { return a.used < b.used; });
  for (const Stored& s : stored) {
    if (total + incoming <= budget_bytes_) break;
    if (!fs::remove(s.path, ec) || ec) continue;
    total -= s.size;
    FSCHED_LOG(kInfo, "deleted archive %s (%d bytes, unused) to make room for a new one", s.digest,
               s.size);
  }
  if (total + incoming > budget_bytes_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the archive (", incoming, " bytes) does not fit the master's archive budget of ",
        budget_bytes_, " bytes (cluster.rootfs_budget_bytes): archives could not be deleted"));
  }
  return absl::OkStatus();
}

std::vector<v1::Rootfs> RootfsStore::List() const {
  std::vector<v1::Rootfs> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".tar") continue;
    v1::Rootfs& r = out.emplace_back();
    r.set_digest(absl::StrCat("sha256:", entry.path().stem().string()));
    r.set_size_bytes(entry.file_size(ec));
    const auto mtime = fs::last_write_time(entry.path(), ec);
    ToProto(absl::FromChrono(std::chrono::file_clock::to_sys(mtime)), r.mutable_stored());
  }
  std::sort(out.begin(), out.end(),
            [](const v1::Rootfs& a, const v1::Rootfs& b) { return a.digest() < b.digest(); });
  return out;
}

}  // namespace fsched::master
