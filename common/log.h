// Minimal leveled logging to stderr (Debian's Abseil has no absl/log).
#pragma once

#include <string_view>

#include "absl/strings/str_format.h"

namespace fsched {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
/// Parses "debug", "info", "warning", "error"; false for anything else.
bool ParseLogLevel(std::string_view name, LogLevel* level);
void SetLogTag(std::string_view tag);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

}  // namespace fsched

#define FSCHED_LOG(level, ...)                                                    \
  do {                                                                            \
    if (::fsched::LogEnabled(::fsched::LogLevel::level))                          \
      ::fsched::LogLine(::fsched::LogLevel::level, absl::StrFormat(__VA_ARGS__)); \
  } while (0)
