// Fuzzes what the API gateway reads from authorizers' configuration and answers: an API
// definition's "authorizers" array (user input through the control API), a Lambda authorizer's
// answer (whatever the function returns) and IAM's wildcard matching of route ARNs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json/parse.hpp>

#include "apigw/authorizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (bool simple : {true, false}) {
    for (std::string_view format : {"1.0", "2.0"}) {
      auto d = gust::apigw::parseAuthorizerResponse(in, simple, format);
      if (d.ok()) {
        bool allowed = d->allows("arn:aws:execute-api:us-east-1:0:api/$default/GET/x");
        if (simple && allowed != *d->is_authorized) __builtin_trap();
        (void)gust::apigw::lambdaAuthorizerContext(*d, format);
      } else if (d.error().code != gust::ErrorCode::kInvalidArgument) {
        __builtin_trap();
      }
    }
  }
  boost::system::error_code ec;
  auto value = boost::json::parse(in, ec);
  if (!ec) {
    auto parsed = gust::apigw::parseAuthorizers(value);
    if (parsed.ok()) {
      // What is stored parses back to the same configuration.
      auto again = gust::apigw::parseAuthorizers(gust::apigw::authorizersToJson(*parsed));
      if (!again.ok() || *again != *parsed) __builtin_trap();
    }
  }
  // The first line is a pattern, the rest the text.
  size_t nl = in.find('\n');
  if (nl != std::string_view::npos) {
    std::string_view pattern = in.substr(0, nl), text = in.substr(nl + 1);
    bool m = gust::apigw::wildcardMatch(pattern, text);
    if (pattern == text && !m) __builtin_trap();
  }
  return 0;
}
