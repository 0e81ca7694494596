// Fuzzes the parsers of Lambda API requests: the first byte picks the operation, the rest is the
// body (or the FunctionName). Accepted inputs must render back to JSON without failing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/json.hpp>

#include "gateway/lambda_json.h"

using namespace gust::gateway::lambda;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 9) {
    case 0:
      if (auto in = parseCreateFunction(text); in.ok()) {
        gust::control::FunctionConfig config = in->deploy.config;
        GUST_CHECK(!config.name.empty() && !in->deploy.zip.empty(),
                   "an accepted CreateFunction has a name and code");
      }
      break;
    case 1:
      if (auto u = parseUpdateConfiguration(text); u.ok()) {
        gust::control::FunctionConfig config;
        applyUpdate(*u, config);
      }
      break;
    case 2:
      (void)parseUpdateCode(text);
      break;
    case 3:
      (void)parsePublishVersion(text);
      break;
    case 4:
      (void)parseAlias(text, true);
      (void)parseAlias(text, false);
      break;
    case 5:
      (void)parseReservedConcurrency(text);
      (void)parseProvisionedConcurrency(text);
      break;
    case 6: {
      size_t split = text.find('\n');
      std::optional<std::string_view> qualifier;
      if (split != std::string_view::npos) qualifier = text.substr(split + 1);
      if (auto ref = parseFunctionRef(text.substr(0, split), qualifier); ref.ok()) {
        GUST_CHECK(!ref->name.empty(), "an accepted FunctionName names a function");
        GUST_CHECK(ref->name.find(':') == std::string::npos, "names have no colon");
      }
      break;
    }
    case 7:
      if (auto hex = base64ToHex(text)) {
        GUST_CHECK(hex->size() == 64, "a digest is 32 bytes");
        (void)hexToBase64(*hex);
      }
      break;
    default: {
      gust::store::FunctionRecord record;
      record.name = std::string(text.substr(0, 64));
      record.code_sha256 = std::string(text.substr(0, 64));
      (void)boost::json::serialize(functionConfiguration(Account{}, record));
      break;
    }
  }
  return 0;
}
