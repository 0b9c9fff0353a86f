// The framing every worker pipe protocol shares (the shim's, and the
// instance protocol of persistent runtimes): a frame is a 4-byte
// little-endian length and a body; a body is tag-length-value fields (1-byte
// tag, 4-byte little-endian length, value). Integers are 8-byte little-endian
// values. Plain C++: the shim links it statically.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fsched::shim {

/// Frames larger than this are refused by the reader: a corrupt length must
/// not make either side allocate gigabytes.
inline constexpr uint32_t kMaxFrameBytes = 256u << 20;

inline uint32_t ReadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void AppendU32(std::string& out, uint32_t v);
/// Appends one field.
void AppendField(std::string& out, uint8_t tag, std::string_view value);
void AppendU64Field(std::string& out, uint8_t tag, uint64_t value);
/// False unless `value` is exactly 8 bytes.
bool ParseU64(std::string_view value, uint64_t* out);

/// Calls `field(tag, value)` for each field of `body`; false if the body is
/// truncated or `field` refuses one.
template <typename Fn>
bool ForEachField(std::string_view body, Fn field) {
  while (!body.empty()) {
    if (body.size() < 5) return false;
    const uint8_t tag = static_cast<uint8_t>(body[0]);
    const uint32_t len = ReadU32(body.data() + 1);
    if (body.size() - 5 < len) return false;
    if (!field(tag, body.substr(5, len))) return false;
    body.remove_prefix(5 + len);
  }
  return true;
}

/// Prepends the 4-byte little-endian length.
std::string Frame(std::string_view body);
/// Splits a complete frame off the front of `buffer`. Returns false while the
/// buffer holds less than a whole frame; sets `oversized` for a length above
/// kMaxFrameBytes.
bool TakeFrame(std::string& buffer, std::string* body, bool* oversized);

}  // namespace fsched::shim
