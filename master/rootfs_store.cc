#include "master/rootfs_store.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"

namespace fsched::master {
namespace {

namespace fs = std::filesystem;

std::atomic<uint64_t> next_upload{0};

}  // namespace

absl::StatusOr<std::unique_ptr<RootfsStore>> RootfsStore::Open(std::string dir,
                                                               uint64_t max_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  // Temporary files of uploads cut short by a crash.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".part") fs::remove(entry.path(), ec);
  }
  return std::unique_ptr<RootfsStore>(new RootfsStore(std::move(dir), max_bytes));
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
