// Fuzzes the gust.yaml manifest parser: any input must give a config or an error, never a crash,
// an exception or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/function_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = gust::control::parseManifest(text, "fuzz.yaml");
  // An accepted manifest must also pass validation on its own.
  if (config.ok()) GUST_CHECK(gust::control::validateConfig(*config).ok(), "parsed != valid");
  return 0;
}
