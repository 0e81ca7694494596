// The host <-> instance protocol of the built-in runtimes: length-prefixed frames over a stream
// socket (fd 3 inside the instance). Specified in api/runtime-protocol.md.
//
//   header (16 bytes, little-endian):
//     u32 length       bytes after the header (meta + body); rejected above kMaxFrameBytes
//     u8  type         FrameType
//     u8  flags        0 (reserved)
//     u16 meta_length  length of the JSON metadata prefix of the payload
//     u64 seq          host-assigned invocation number, echoed back by the instance
//   payload: meta (JSON object, meta_length bytes) followed by the body bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::runtime {

enum class FrameType : uint8_t {
  kInit = 1,       // host -> instance (deferred init only): meta = {"env": {...}}; load the code
  kInitOk = 2,     // instance -> host: handler loaded
  kInitError = 3,  // instance -> host: body = error JSON; the instance exits
  kInvoke = 4,     // host -> instance: meta = invocation context, body = event
  kResult = 5,     // instance -> host: body = result bytes (JSON)
  kError = 6,      // instance -> host: body = error JSON {errorMessage, errorType, stackTrace}
  kReady = 7,      // instance -> host (deferred init only): started, waiting for INIT
};

inline constexpr size_t kFrameHeaderBytes = 16;
// Lambda's response limit (6 MiB) plus room for metadata.
inline constexpr uint32_t kMaxFrameBytes = 6 * 1024 * 1024 + 4096;
// The largest result body an instance may return (Lambda's 6 MiB + 100); the bootstraps answer
// larger results with a Function.ResponseSizeTooLarge error instead.
inline constexpr uint32_t kMaxResultBytes = 6 * 1024 * 1024 + 100;

struct FrameHeader {
  uint32_t length = 0;
  FrameType type = FrameType::kInvoke;
  uint8_t flags = 0;
  uint16_t meta_length = 0;
  uint64_t seq = 0;
};

struct Frame {
  FrameType type = FrameType::kInvoke;
  uint64_t seq = 0;
  std::string meta;  // JSON object text, may be empty
  std::string body;
};

// Serialises a frame. kInvalidArgument if meta or the total exceeds the limits.
Result<std::string> encodeFrame(const Frame& frame);
// Parses and validates a header (known type, flags 0, meta_length <= length, length within
// kMaxFrameBytes). `bytes` must hold at least kFrameHeaderBytes.
Result<FrameHeader> decodeHeader(std::string_view bytes);
// Parses one whole frame from `bytes` (header + payload, nothing more). For tests and fuzzing.
Result<Frame> decodeFrame(std::string_view bytes);

}  // namespace gust::runtime
