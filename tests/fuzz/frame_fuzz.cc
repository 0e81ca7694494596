// Fuzzes the frame decoder with arbitrary bytes: it must reject or parse, never crash, and what
// it parses must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/check.h"
#include "runtime/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (size >= gust::runtime::kFrameHeaderBytes) (void)gust::runtime::decodeHeader(bytes);
  auto frame = gust::runtime::decodeFrame(bytes);
  if (frame.ok()) {
    auto encoded = gust::runtime::encodeFrame(*frame);
    GUST_CHECK(encoded.ok(), "a decoded frame must encode");
    GUST_CHECK(*encoded == bytes, "decode then encode must round-trip");
  }
  return 0;
}
