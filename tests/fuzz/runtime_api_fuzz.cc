// Fuzzes the Runtime API's HTTP request-head parser: its input comes from code running inside
// a sandbox, so it is hostile by definition.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/runtime_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto head = gust::runtime::parseRequestHead(input);
  if (head.ok() && head->has_value()) {
    // A parsed head never claims more bytes than it was given.
    if ((*head)->head_bytes > input.size()) __builtin_trap();
  }
  return 0;
}
