#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fsched {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
absl::Mutex g_tag_mu;
std::string* g_tag ABSL_GUARDED_BY(g_tag_mu) = new std::string("fsched");

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 'D';
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarning:
      return 'W';
    case LogLevel::kError:
      return 'E';
  }
  return '?';
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool ParseLogLevel(std::string_view name, LogLevel* level) {
  if (name == "debug")
    *level = LogLevel::kDebug;
  else if (name == "info")
    *level = LogLevel::kInfo;
  else if (name == "warning")
    *level = LogLevel::kWarning;
  else if (name == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

void SetLogTag(std::string_view tag) {
  absl::MutexLock lock(&g_tag_mu);
  *g_tag = std::string(tag);
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void LogLine(LogLevel level, std::string_view message) {
  std::string tag;
  {
    absl::MutexLock lock(&g_tag_mu);
    tag = *g_tag;
  }
  // One fprintf per line keeps lines from different threads whole.
  std::string line = absl::StrFormat(
      "%c %s %s] %s\n", LevelLetter(level),
      absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()), tag, message);
  std::fputs(line.c_str(), stderr);
}

}  // namespace fsched
