// An HTTP API's authorizers, as API Gateway defines them: their configuration in an API
// definition, the identity sources they read, and what a Lambda authorizer is sent and may answer.
// Pure functions; the gateway (src/gateway/api_authz.*) runs them on requests.
//
//   JWT authorizer     {"name", "type": "jwt", "identity_source":
//   ["$request.header.Authorization"],
//                       "issuer", "audience": [...], and keys: "jwks_file" (a JWKS document on the
//                       server's disk, re-read when it changes), "jwks" (an inline JWKS object),
//                       "public_key_pem", "hmac_secret"}
//   Lambda authorizer  {"name", "type": "lambda", "function": "fn[:alias]",
//                       "payload_format": "2.0" | "1.0", "simple_responses": true (2.0 only),
//                       "identity_source": [...], "result_ttl_seconds": 300 (0: no caching,
//                       at most 3600)}
// A route names its authorizer ("authorizer": NAME) and, for a JWT authorizer, the scopes a
// token must have one of ("authorization_scopes").
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apigw/jwt.h"
#include "common/result.h"

namespace gust::apigw {

inline constexpr int kDefaultAuthorizerTtlSeconds = 300;
inline constexpr int kMaxAuthorizerTtlSeconds = 3600;
inline constexpr size_t kMaxAuthorizers = 10;  // API Gateway's quota per API
inline constexpr std::string_view kDefaultJwtIdentitySource = "$request.header.Authorization";

// Where a request's identity comes from: "$request.header.NAME", "$request.querystring.NAME",
// "$stageVariables.NAME" or "$context.routeKey" / "$context.stage".
struct IdentitySource {
  enum class Kind { kHeader, kQuery, kStageVariable, kContext };
  Kind kind = Kind::kHeader;
  std::string name;  // header names lower-case
  std::string expression;

  bool operator==(const IdentitySource&) const = default;
};
Result<IdentitySource> parseIdentitySource(std::string_view expression);

struct JwtAuthorizerConfig {
  std::string issuer;
  std::vector<std::string> audience;
  std::string jwks_file;
  std::string jwks;  // inline JWKS document, as JSON text
  std::string public_key_pem;
  std::string hmac_secret;

  bool operator==(const JwtAuthorizerConfig&) const = default;
};

struct LambdaAuthorizerConfig {
  std::string function;
  std::string qualifier;
  std::string payload_format = "2.0";
  bool simple_responses = false;
  int result_ttl_seconds = kDefaultAuthorizerTtlSeconds;

  bool operator==(const LambdaAuthorizerConfig&) const = default;
};

struct AuthorizerConfig {
  enum class Type { kJwt, kLambda };
  std::string name;
  Type type = Type::kJwt;
  std::vector<IdentitySource> identity_source;
  JwtAuthorizerConfig jwt;
  LambdaAuthorizerConfig lambda;

  bool operator==(const AuthorizerConfig&) const = default;
};

// An "authorizers" array of an API definition: names unique, each authorizer complete (a JWT
// authorizer needs an issuer, an audience and a key source; inline keys must be usable). A
// jwks_file is not read here (the definition is checked where the file may not be).
Result<std::vector<AuthorizerConfig>> parseAuthorizers(const boost::json::value& value);
boost::json::array authorizersToJson(const std::vector<AuthorizerConfig>& authorizers);

// The inline keys of a JWT authorizer (jwks, public_key_pem, hmac_secret); an empty set when it
// has none (it then uses only its jwks_file).
Result<jwt::KeySet> inlineKeys(const JwtAuthorizerConfig& config);

// What identity sources read of a request.
struct IdentityInput {
  // Header lookup by lower-case name (first value), query parameters (first value), stage
  // variables, and $context values.
  std::function<std::optional<std::string>(std::string_view)> header;
  std::function<std::optional<std::string>(std::string_view)> query;
  std::function<std::optional<std::string>(std::string_view)> stage_variable;
  std::function<std::optional<std::string>(std::string_view)> context;
};
// The values of `sources` in order; nullopt when one is missing or empty (API Gateway then
// answers 401 without running the authorizer).
std::optional<std::vector<std::string>> identityValues(const std::vector<IdentitySource>& sources,
                                                       const IdentityInput& input);

// The token of a JWT identity value: "Bearer <token>" or the token alone.
std::string_view bearerToken(std::string_view value);

// The Lambda authorizer's event, made from the route's proxy event of the same payload format
// (as apigw's buildEvent makes it): 2.0 adds type "REQUEST", routeArn and identitySource (an
// array) and drops the body; 1.0 adds type "REQUEST", methodArn, identitySource and
// authorizationToken (the values comma-joined) and drops the body.
std::string authorizerEvent(std::string_view proxy_event_json, std::string_view payload_format,
                            std::string_view route_arn, const std::vector<std::string>& identity);

// arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH (PATH without its leading '/'; the
// $default route: ".../STAGE/$default").
std::string routeArn(std::string_view region, std::string_view account, std::string_view api_id,
                     std::string_view stage, std::string_view method, std::string_view path);

// A Lambda authorizer's answer, parsed.
struct AuthorizerDecision {
  // Simple responses: isAuthorized. IAM policies: the statements, evaluated per route ARN.
  std::optional<bool> is_authorized;
  struct Statement {
    bool allow = false;
    std::vector<std::string> resources;  // with * and ? wildcards
  };
  std::vector<Statement> statements;
  std::string principal_id;
  boost::json::object context;

  // Whether the decision lets a request for `route_arn` through: a simple answer as given; a
  // policy when a statement allows execute-api:Invoke on a matching resource and none denies it.
  bool allows(std::string_view route_arn) const;
};

// Parses the result of a Lambda authorizer. `simple` (payload 2.0 with simple responses):
// {"isAuthorized": bool, "context": {...}}; otherwise an IAM policy {"principalId",
// "policyDocument": {"Version", "Statement": [{"Action", "Effect", "Resource"}]}, "context"}.
// Context values must be strings, numbers or booleans (API Gateway's rule for 1.0; for 2.0
// simple responses any JSON). kInvalidArgument saying what is wrong (the gateway answers 500).
Result<AuthorizerDecision> parseAuthorizerResponse(std::string_view payload, bool simple,
                                                   std::string_view payload_format);

// requestContext.authorizer for an integration of `integration_format`:
//   JWT     2.0 {"jwt": {"claims": {...}, "scopes": [...] | null}}   1.0 {"claims", "scopes"}
//   Lambda  2.0 {"lambda": context}  1.0 context + "principalId" (and "integrationLatency": 0)
boost::json::object jwtAuthorizerContext(const jwt::Validated& token,
                                         std::string_view integration_format);
boost::json::object lambdaAuthorizerContext(const AuthorizerDecision& decision,
                                            std::string_view integration_format);

// IAM's wildcard match: '*' any run of characters, '?' one character.
bool wildcardMatch(std::string_view pattern, std::string_view text);

}  // namespace gust::apigw
