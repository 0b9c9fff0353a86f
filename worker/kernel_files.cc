#include "worker/kernel_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "worker/fd.h"

namespace fsched::worker {
namespace {

absl::Status FromErrno(int error, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ESRCH:
      return absl::NotFoundError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    case ENOSPC:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

}  // namespace

absl::StatusOr<std::string> ReadKernelFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<uint64_t> ReadKernelNumber(const std::string& path, int base) {
  absl::StatusOr<std::string> text = ReadKernelFile(path);
  if (!text.ok()) return text.status();
  const absl::string_view digits = absl::StripAsciiWhitespace(*text);
  uint64_t value = 0;
  if (!(base == 16 ? absl::SimpleHexAtoi(digits, &value) : absl::SimpleAtoi(digits, &value))) {
    return absl::InternalError(
        absl::StrCat(path, " does not hold a ", base == 16 ? "hex " : "", "number"));
  }
  return value;
}

absl::Status WriteKernelFile(const std::string& path, absl::string_view value, bool create) {
  // O_TRUNC is a no-op on the kernel's files and keeps a fake tree's file
  // holding just the value; created files collect one line per write (tasks).
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_APPEND : O_TRUNC), 0644));
  if (!fd.valid()) return FromErrno(errno, absl::StrCat("cannot open ", path));
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return FromErrno(errno, absl::StrCat("cannot write '", value, "' to ", path));
  if (static_cast<size_t>(n) != value.size()) {
    return absl::FailedPreconditionError(absl::StrCat("short write to ", path));
  }
  return absl::OkStatus();
}

std::vector<pid_t> ThreadsOf(pid_t pid) {
  std::vector<pid_t> threads;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), ec)) {
    pid_t tid = 0;
    if (absl::SimpleAtoi(entry.path().filename().string(), &tid)) threads.push_back(tid);
  }
  return threads;
}

}  // namespace fsched::worker
