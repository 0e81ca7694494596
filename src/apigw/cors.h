// CORS for an HTTP API, as API Gateway does it: the API's configuration (API Gateway's
// allowOrigins, allowMethods, allowHeaders, exposeHeaders, maxAge and allowCredentials, spelt in
// snake_case like the rest of an API definition), the gateway's own answer
// to preflight requests (no function runs), and the headers added to every other response, which
// replace any Access-Control-* headers the integration returned.
//
// A request whose Origin is not allowed, or a preflight for a method that is not, gets no CORS
// headers at all: the browser then blocks it, which is the point. Pure and thread-safe.
#pragma once

#include <boost/json/fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace gust::apigw {

struct CorsConfig {
  std::vector<std::string> allow_origins;   // "*" or origins ("https://example.com:8443")
  std::vector<std::string> allow_methods;   // "*" or upper-case methods
  std::vector<std::string> allow_headers;   // "*" or header names
  std::vector<std::string> expose_headers;  // header names
  std::optional<int> max_age;               // seconds, -1 … 86400
  bool allow_credentials = false;

  bool operator==(const CorsConfig&) const = default;
};

inline constexpr int kMaxCorsMaxAge = 86400;

// kInvalidArgument naming the field and what is allowed. As API Gateway does, credentials with
// the "*" origin are refused (browsers would ignore them anyway).
Status validateCors(const CorsConfig& cors);

// The JSON form in an API definition ({"allow_origins": [...], "max_age": 300, ...}), validated.
Result<CorsConfig> parseCors(const boost::json::value& json);
boost::json::object corsToJson(const CorsConfig& cors);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What of a request CORS looks at (header values as received; absent: nullopt).
struct CorsRequest {
  std::string_view method;
  std::optional<std::string_view> origin;           // Origin
  std::optional<std::string_view> request_method;   // Access-Control-Request-Method
  std::optional<std::string_view> request_headers;  // Access-Control-Request-Headers
};

// An OPTIONS request with Origin and Access-Control-Request-Method.
bool isPreflight(const CorsRequest& request);

// The headers of the gateway's answer to a preflight (status kPreflightStatus, empty body).
inline constexpr int kPreflightStatus = 204;
HeaderList preflightHeaders(const CorsConfig& cors, const CorsRequest& request);

// The CORS headers for an ordinary response to a request from `origin`.
HeaderList responseHeaders(const CorsConfig& cors, std::optional<std::string_view> origin);

// Access-Control-* (any case): the integration's own CORS headers, dropped when the API has a
// CORS configuration.
bool isCorsHeader(std::string_view name);

}  // namespace gust::apigw
