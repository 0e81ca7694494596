#include "apigw/authorizer.h"

#include <gtest/gtest.h>

#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace gust::apigw {
namespace {

namespace json = boost::json;

Result<std::vector<AuthorizerConfig>> parse(std::string_view text) {
  return parseAuthorizers(json::parse(text));
}

std::string errorOf(std::string_view text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.error().message;
}

const char* kSecret = "0123456789abcdef0123456789abcdef";

TEST(Authorizers, ParseJwtAndLambdaAndRoundTrip) {
  std::string text = std::string(R"([
    {"name":"jwt","type":"jwt","issuer":"https://i.example","audience":["api"],
     "hmac_secret":")") +
                     kSecret + R"("},
    {"name":"fn","type":"lambda","function":"authz:live","simple_responses":true,
     "identity_source":["$request.header.X-Token","$request.querystring.user"]}])";
  auto r = parse(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  const auto& j = (*r)[0];
  EXPECT_EQ(j.type, AuthorizerConfig::Type::kJwt);
  ASSERT_EQ(j.identity_source.size(), 1u);
  EXPECT_EQ(j.identity_source[0].name, "authorization");
  const auto& l = (*r)[1];
  EXPECT_EQ(l.lambda.function, "authz");
  EXPECT_EQ(l.lambda.qualifier, "live");
  EXPECT_EQ(l.lambda.result_ttl_seconds, 300);
  EXPECT_EQ(l.lambda.payload_format, "2.0");
  EXPECT_EQ(l.identity_source[0].name, "x-token");
  EXPECT_EQ(l.identity_source[1].kind, IdentitySource::Kind::kQuery);
  auto again = parseAuthorizers(json::value(authorizersToJson(*r)));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *r);
}

TEST(Authorizers, RefuseIncompleteOrContradictoryConfigurations) {
  EXPECT_NE(
      errorOf(
          R"([{"name":"a","type":"jwt","audience":["x"],"hmac_secret":"0123456789abcdef0123456789abcdef"}])")
          .find("\"issuer\" is required"),
      std::string::npos);
  EXPECT_NE(errorOf(R"([{"name":"a","type":"jwt","issuer":"i","audience":[],"jwks_file":"/k"}])")
                .find("audience"),
            std::string::npos);
  EXPECT_NE(errorOf(R"([{"name":"a","type":"jwt","issuer":"i","audience":["x"]}])").find("keys"),
            std::string::npos);
  EXPECT_NE(
      errorOf(R"([{"name":"a","type":"jwt","issuer":"i","audience":["x"],"hmac_secret":"short"}])")
          .find("at least 32"),
      std::string::npos);
  EXPECT_NE(
      errorOf(R"([{"name":"a","type":"jwt","issuer":"i","audience":["x"],"jwks_file":"k.json"}])")
          .find("absolute"),
      std::string::npos);
  EXPECT_NE(
      errorOf(R"([{"name":"a","type":"lambda","function":"f","issuer":"i"}])").find("only for jwt"),
      std::string::npos);
  EXPECT_NE(errorOf(R"([{"name":"a","type":"lambda","function":"f"}])").find("identity_source"),
            std::string::npos);
  EXPECT_TRUE(
      parse(R"([{"name":"a","type":"lambda","function":"f","result_ttl_seconds":0}])").ok());
  EXPECT_NE(errorOf(R"([{"name":"a","type":"lambda","function":"f","result_ttl_seconds":3601,
                         "identity_source":["$request.header.A"]}])")
                .find("3600"),
            std::string::npos);
  EXPECT_NE(errorOf(R"([{"name":"a","type":"lambda","function":"f","payload_format":"1.0",
                         "simple_responses":true,"result_ttl_seconds":0}])")
                .find("simple_responses"),
            std::string::npos);
  EXPECT_NE(
      errorOf(R"([{"name":"a","type":"lambda","function":"bad name!","result_ttl_seconds":0}])")
          .find("function"),
      std::string::npos);
  EXPECT_NE(
      errorOf(R"([{"name":"a","type":"lambda","function":"f","identity_source":["$body.x"]}])")
          .find("$request.header.NAME"),
      std::string::npos);
  EXPECT_NE(errorOf(R"([{"name":"a","type":"oauth"}])").find("\"jwt\" or \"lambda\""),
            std::string::npos);
  EXPECT_NE(errorOf(R"([{"name":"a","type":"lambda","function":"f","result_ttl_seconds":0},
                        {"name":"a","type":"lambda","function":"g","result_ttl_seconds":0}])")
                .find("two authorizers"),
            std::string::npos);
  EXPECT_NE(
      errorOf(R"([{"name":"a","type":"lambda","function":"f","ttl":0}])").find("unknown field"),
      std::string::npos);
}

TEST(Authorizers, IdentityValuesNeedEverySource) {
  auto sources = std::vector<IdentitySource>{*parseIdentitySource("$request.header.Auth"),
                                             *parseIdentitySource("$request.querystring.u")};
  std::map<std::string, std::string> headers{{"auth", "t"}}, query{{"u", "1"}};
  auto lookup = [](std::map<std::string, std::string>& m) {
    return [&m](std::string_view k) -> std::optional<std::string> {
      auto it = m.find(std::string(k));
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
  };
  IdentityInput in{lookup(headers), lookup(query), lookup(query), lookup(query)};
  auto v = identityValues(sources, in);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, (std::vector<std::string>{"t", "1"}));
  query.clear();
  EXPECT_FALSE(identityValues(sources, in).has_value());
  query["u"] = "";
  EXPECT_FALSE(identityValues(sources, in).has_value());
}

TEST(Authorizers, BearerToken) {
  EXPECT_EQ(bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(bearerToken("bearer  abc "), "abc");
  EXPECT_EQ(bearerToken("abc"), "abc");
}

TEST(Authorizers, EventsForBothPayloadFormats) {
  std::string proxy =
      R"({"version":"2.0","routeKey":"GET /x","body":"secret","isBase64Encoded":false,"headers":{"a":"b"}})";
  auto e2 = json::parse(authorizerEvent(proxy, "2.0", "arn:r", {"tok", "u"})).as_object();
  EXPECT_EQ(e2.at("type"), "REQUEST");
  EXPECT_EQ(e2.at("routeArn"), "arn:r");
  EXPECT_EQ(e2.at("identitySource"), (json::array{"tok", "u"}));
  EXPECT_FALSE(e2.contains("body"));
  EXPECT_EQ(e2.at("headers").at("a"), "b");
  auto e1 =
      json::parse(authorizerEvent(R"({"version":"1.0","body":"x"})", "1.0", "arn:r", {"tok", "u"}))
          .as_object();
  EXPECT_EQ(e1.at("methodArn"), "arn:r");
  EXPECT_EQ(e1.at("identitySource"), "tok,u");
  EXPECT_EQ(e1.at("authorizationToken"), "tok,u");
  EXPECT_FALSE(e1.contains("body"));
  EXPECT_EQ(routeArn("us-east-1", "1", "api", "prod", "GET", "/items/{id}"),
            "arn:aws:execute-api:us-east-1:1:api/prod/GET/items/{id}");
  EXPECT_EQ(routeArn("us-east-1", "1", "api", "$default", "", ""),
            "arn:aws:execute-api:us-east-1:1:api/$default/$default");
}

TEST(Authorizers, SimpleResponses) {
  auto d = parseAuthorizerResponse(R"({"isAuthorized":true,"context":{"user":"u","n":{"x":1}}})",
                                   true, "2.0");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->allows("anything"));
  EXPECT_EQ(json::serialize(lambdaAuthorizerContext(*d, "2.0")),
            R"({"lambda":{"user":"u","n":{"x":1}}})");
  d = parseAuthorizerResponse(R"({"isAuthorized":false})", true, "2.0");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->allows("anything"));
  EXPECT_FALSE(parseAuthorizerResponse(R"({"isAuthorized":"yes"})", true, "2.0").ok());
  EXPECT_FALSE(parseAuthorizerResponse("[]", true, "2.0").ok());
}

TEST(Authorizers, IamPolicies) {
  auto d =
      parseAuthorizerResponse(R"({"principalId":"user-7","policyDocument":{"Version":"2012-10-17",
      "Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:api/prod/GET/*"},
                   {"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["arn:aws:execute-api:*:*:api/prod/GET/admin"]}]},
      "context":{"tier":"gold","n":3}})",
                              false, "1.0");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->allows("arn:aws:execute-api:us-east-1:1:api/prod/GET/items/1"));
  EXPECT_FALSE(d->allows("arn:aws:execute-api:us-east-1:1:api/prod/GET/admin"));
  EXPECT_FALSE(d->allows("arn:aws:execute-api:us-east-1:1:api/prod/POST/items"));
  auto ctx = lambdaAuthorizerContext(*d, "1.0");
  EXPECT_EQ(ctx.at("principalId"), "user-7");
  EXPECT_EQ(ctx.at("tier"), "gold");
  // 1.0 context values must be scalars.
  EXPECT_FALSE(parseAuthorizerResponse(
                   R"({"policyDocument":{"Statement":[]},"context":{"o":{"a":1}}})", false, "1.0")
                   .ok());
  EXPECT_FALSE(parseAuthorizerResponse(R"({"principalId":"x"})", false, "1.0").ok());
  EXPECT_FALSE(
      parseAuthorizerResponse(
          R"({"policyDocument":{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}})",
          false, "1.0")
          .ok());
  // A policy about other actions allows nothing.
  d = parseAuthorizerResponse(
      R"({"policyDocument":{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}})",
      false, "2.0");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->allows("arn:x"));
}

TEST(Authorizers, WildcardMatch) {
  EXPECT_TRUE(wildcardMatch("*", ""));
  EXPECT_TRUE(wildcardMatch("a*c", "abbbc"));
  EXPECT_TRUE(wildcardMatch("a?c", "abc"));
  EXPECT_FALSE(wildcardMatch("a?c", "ac"));
  EXPECT_FALSE(wildcardMatch("a*d", "abc"));
  EXPECT_TRUE(wildcardMatch("*/GET/*", "arn/prod/GET/x/y"));
}

TEST(Authorizers, JwtContextForBothFormats) {
  jwt::Validated v{json::object{{"sub", "u"}, {"exp", 5}}, {"read"}};
  EXPECT_EQ(json::serialize(jwtAuthorizerContext(v, "2.0")),
            R"({"jwt":{"claims":{"exp":"5","sub":"u"},"scopes":["read"]}})");
  v.scopes.clear();
  EXPECT_EQ(json::serialize(jwtAuthorizerContext(v, "1.0")),
            R"({"claims":{"exp":"5","sub":"u"},"scopes":null})");
}

}  // namespace
}  // namespace gust::apigw
