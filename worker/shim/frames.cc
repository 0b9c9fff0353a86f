#include "worker/shim/frames.h"

namespace fsched::shim {

void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void AppendField(std::string& out, uint8_t tag, std::string_view value) {
  out.push_back(static_cast<char>(tag));
  AppendU32(out, static_cast<uint32_t>(value.size()));
  out.append(value);
}

void AppendU64Field(std::string& out, uint8_t tag, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  AppendField(out, tag, std::string_view(bytes, 8));
}

bool ParseU64(std::string_view value, uint64_t* out) {
  if (value.size() != 8) return false;
  *out = 0;
  for (int i = 0; i < 8; ++i) {
    *out |= static_cast<uint64_t>(static_cast<unsigned char>(value[i])) << (8 * i);
  }
  return true;
}

std::string Frame(std::string_view body) {
  std::string out;
  out.reserve(4 + body.size());
  AppendU32(out, static_cast<uint32_t>(body.size()));
  out.append(body);
  return out;
}

bool TakeFrame(std::string& buffer, std::string* body, bool* oversized) {
  *oversized = false;
  if (buffer.size() < 4) return false;
  const uint32_t len = ReadU32(buffer.data());
  if (len > kMaxFrameBytes) {
    *oversized = true;
    return false;
  }
  if (buffer.size() - 4 < len) return false;
  body->assign(buffer, 4, len);
  buffer.erase(0, 4 + static_cast<size_t>(len));
  return true;
}

}  // namespace fsched::shim
