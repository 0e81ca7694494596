// Fuzzes the control API's deploy request parser, and checks that an accepted request survives
// a round trip through deployRequestToJson.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/function_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto request = gust::control::parseDeployRequest(text);
  if (request.ok()) {
    auto again = gust::control::parseDeployRequest(
        gust::control::deployRequestToJson(request->config, request->zip));
    GUST_CHECK(again.ok(), "a serialised valid request must parse");
    GUST_CHECK(again->config == request->config && again->zip == request->zip,
               "round trip must preserve the request");
  }
  (void)gust::control::functionFromJson(text);
  return 0;
}
