// Frame encoding. Every field is written and read byte by byte in little-endian order, so the
// code does not depend on the host's byte order or on struct layout.
#include "runtime/protocol.h"

#include <fmt/format.h>

namespace gust::runtime {
namespace {

constexpr uint16_t kMaxMetaBytes = UINT16_MAX;

void putLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t getLe(std::string_view in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
  return value;
}

bool isKnownType(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kInit:
    case FrameType::kInitOk:
    case FrameType::kInitError:
    case FrameType::kInvoke:
    case FrameType::kResult:
    case FrameType::kError:
    case FrameType::kReady:
      return true;
  }
  return false;
}

}  // namespace

Result<std::string> encodeFrame(const Frame& frame) {
  if (frame.meta.size() > kMaxMetaBytes)
    return Error::invalid(fmt::format("frame metadata is {} bytes; the limit is {}",
                                      frame.meta.size(), kMaxMetaBytes));
  size_t length = frame.meta.size() + frame.body.size();
  if (length > kMaxFrameBytes)
    return Error::invalid(
        fmt::format("frame payload is {} bytes; the limit is {}", length, kMaxFrameBytes));
  std::string out;
  out.reserve(kFrameHeaderBytes + length);
  putLe(out, length, 4);
  putLe(out, static_cast<uint8_t>(frame.type), 1);
  putLe(out, 0, 1);  // flags: reserved
  putLe(out, frame.meta.size(), 2);
  putLe(out, frame.seq, 8);
  out += frame.meta;
  out += frame.body;
  return out;
}

Result<FrameHeader> decodeHeader(std::string_view bytes) {
  if (bytes.size() < kFrameHeaderBytes)
    return Error::invalid(
        fmt::format("frame header is {} bytes; it must be {}", bytes.size(), kFrameHeaderBytes));
  FrameHeader h;
  h.length = static_cast<uint32_t>(getLe(bytes, 0, 4));
  auto type = static_cast<uint8_t>(getLe(bytes, 4, 1));
  h.flags = static_cast<uint8_t>(getLe(bytes, 5, 1));
  h.meta_length = static_cast<uint16_t>(getLe(bytes, 6, 2));
  h.seq = getLe(bytes, 8, 8);
  if (!isKnownType(type)) return Error::invalid(fmt::format("unknown frame type {}", type));
  h.type = static_cast<FrameType>(type);
  if (h.flags != 0)
    return Error::invalid(fmt::format("frame flags {:#x} are not supported (must be 0)", h.flags));
  if (h.length > kMaxFrameBytes)
    return Error::tooLarge(
        fmt::format("frame of {} bytes exceeds the limit of {} bytes", h.length, kMaxFrameBytes));
  if (h.meta_length > h.length)
    return Error::invalid(fmt::format("frame metadata length {} exceeds the frame length {}",
                                      h.meta_length, h.length));
  return h;
}

Result<Frame> decodeFrame(std::string_view bytes) {
  GUST_ASSIGN_OR_RETURN(FrameHeader h, decodeHeader(bytes));
  size_t payload = bytes.size() - kFrameHeaderBytes;
  if (payload != h.length)
    return Error::invalid(
        fmt::format("frame declares {} payload bytes but {} are present", h.length, payload));
  Frame f;
  f.type = h.type;
  f.seq = h.seq;
  f.meta.assign(bytes.substr(kFrameHeaderBytes, h.meta_length));
  f.body.assign(bytes.substr(kFrameHeaderBytes + h.meta_length));
  return f;
}

}  // namespace gust::runtime
