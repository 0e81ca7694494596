// Fuzzes the JWT authorizer's token path: parse() and validate() see tokens straight from an
// Authorization header, before anything about the caller is known. The input is the token
// itself (a corpus file is a readable compact JWS).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "apigw/jwt.h"

namespace {

const gust::apigw::jwt::KeySet& keys() {
  // An HMAC key for kid "k1" and one without a kid, so tokens reach signature checking.
  static const gust::apigw::jwt::KeySet set = [] {
    auto a = gust::apigw::jwt::KeySet::fromSecret("fuzz-secret-fuzz-secret-fuzz-secret", "k1");
    auto b = gust::apigw::jwt::KeySet::fromSecret("another-secret-another-secret-32b");
    gust::apigw::jwt::KeySet s = std::move(*a);
    s.merge(*b);
    return s;
  }();
  return set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto token = gust::apigw::jwt::parse(in);
  if (token.ok()) {
    // A parsed token has a supported alg and a signing input that is a prefix of the input.
    if (in.substr(0, token->signing_input.size()) != token->signing_input) __builtin_trap();
  } else if (token.error().code != gust::ErrorCode::kUnauthenticated ||
             token.error().message.empty()) {
    __builtin_trap();
  }
  gust::apigw::jwt::ValidationOptions options;
  options.issuer = "https://issuer.example";
  options.audiences = {"api"};
  options.route_scopes = {"read"};
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  auto result = gust::apigw::jwt::validate(in, keys(), options, now);
  if (result.ok()) {
    (void)gust::apigw::jwt::claimStrings(result->claims);
  } else if (result.error().code != gust::ErrorCode::kUnauthenticated &&
             result.error().code != gust::ErrorCode::kPermissionDenied) {
    __builtin_trap();
  }
  // JWKS documents are configuration, but may come from a file an operator downloaded.
  (void)gust::apigw::jwt::KeySet::fromJwks(in);
  return 0;
}
