#include "apigw/cors.h"

#include <gtest/gtest.h>

#include <map>

#include <boost/json/parse.hpp>

namespace gust::apigw {
namespace {

std::map<std::string, std::string> asMap(const HeaderList& h) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : h) m[k] = v;
  return m;
}

CorsConfig parsed(std::string_view json) {
  auto r = parseCors(boost::json::parse(json));
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : CorsConfig{};
}

std::string parseError(std::string_view json) {
  auto r = parseCors(boost::json::parse(json));
  EXPECT_FALSE(r.ok()) << json;
  return r.ok() ? "" : r.error().message;
}

TEST(Cors, ParsesAndRoundTrips) {
  auto c = parsed(R"({"allow_origins":["https://app.example"],"allow_methods":["get","POST"],
                      "allow_headers":["Authorization","X-Trace"],"expose_headers":["X-Id"],
                      "max_age":600,"allow_credentials":true})");
  EXPECT_EQ(c.allow_methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(c.max_age, 600);
  EXPECT_TRUE(c.allow_credentials);
  auto again = parseCors(boost::json::value(corsToJson(c)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->allow_origins, c.allow_origins);
  EXPECT_EQ(again->expose_headers, c.expose_headers);
}

TEST(Cors, RefusesInvalidConfigurations) {
  EXPECT_NE(parseError(R"({"allow_origins":["*"],"allow_credentials":true})").find("credentials"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"allow_origins":["https://a.example/path"]})").find("not an origin"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"allow_origins":["a.example"]})").find("not an origin"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"allow_methods":["FETCH"]})").find("FETCH"), std::string::npos);
  EXPECT_NE(parseError(R"({"allow_headers":["bad header"]})").find("header name"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"max_age":86401})").find("max_age"), std::string::npos);
  EXPECT_NE(parseError(R"({"max_age":"10"})").find("max_age"), std::string::npos);
  EXPECT_NE(parseError(R"({"allowOrigin":["*"]})").find("unknown field"), std::string::npos);
  EXPECT_NE(parseError(R"({"allow_origins":"*"})").find("array"), std::string::npos);
  EXPECT_NE(parseError(R"([])").find("object"), std::string::npos);
}

TEST(Cors, AnswersAPreflightForAnAllowedOriginAndMethod) {
  auto c = parsed(R"({"allow_origins":["https://app.example"],"allow_methods":["GET","POST"],
                      "allow_headers":["authorization","content-type"],"max_age":300,
                      "allow_credentials":true})");
  CorsRequest req{"OPTIONS", "https://app.example", "POST", "authorization"};
  ASSERT_TRUE(isPreflight(req));
  auto h = asMap(preflightHeaders(c, req));
  EXPECT_EQ(h["Access-Control-Allow-Origin"], "https://app.example");
  EXPECT_EQ(h["Access-Control-Allow-Methods"], "GET,POST");
  EXPECT_EQ(h["Access-Control-Allow-Headers"], "authorization,content-type");
  EXPECT_EQ(h["Access-Control-Max-Age"], "300");
  EXPECT_EQ(h["Access-Control-Allow-Credentials"], "true");
  EXPECT_EQ(h["Vary"], "Origin");
}

TEST(Cors, GivesNoHeadersToAnOriginOrMethodNotAllowed) {
  auto c = parsed(R"({"allow_origins":["https://app.example"],"allow_methods":["GET"]})");
  EXPECT_TRUE(preflightHeaders(c, {"OPTIONS", "https://evil.example", "GET", {}}).empty());
  EXPECT_TRUE(preflightHeaders(c, {"OPTIONS", "https://app.example", "DELETE", {}}).empty());
  EXPECT_TRUE(responseHeaders(c, "https://evil.example").empty());
  EXPECT_TRUE(responseHeaders(c, std::nullopt).empty());
}

TEST(Cors, WildcardsAnswerStarWithoutCredentials) {
  auto c = parsed(R"({"allow_origins":["*"],"allow_methods":["*"],"allow_headers":["*"],
                      "expose_headers":["x-request-id"]})");
  auto h = asMap(preflightHeaders(c, {"OPTIONS", "https://any.example", "PATCH", "x-a"}));
  EXPECT_EQ(h["Access-Control-Allow-Origin"], "*");
  EXPECT_EQ(h["Access-Control-Allow-Methods"], "*");
  EXPECT_EQ(h["Access-Control-Allow-Headers"], "*");
  EXPECT_EQ(h.count("Vary"), 0u);
  EXPECT_EQ(h.count("Access-Control-Max-Age"), 0u);
  auto r = asMap(responseHeaders(c, "https://any.example"));
  EXPECT_EQ(r["Access-Control-Allow-Origin"], "*");
  EXPECT_EQ(r["Access-Control-Expose-Headers"], "x-request-id");
  EXPECT_EQ(r.count("Access-Control-Allow-Credentials"), 0u);
}

TEST(Cors, WildcardMethodsAndHeadersAreEchoedWithCredentials) {
  auto c = parsed(R"({"allow_origins":["https://app.example"],"allow_methods":["*"],
                      "allow_headers":["*"],"allow_credentials":true})");
  auto h = asMap(preflightHeaders(c, {"OPTIONS", "https://app.example", "PUT", "x-a, x-b"}));
  EXPECT_EQ(h["Access-Control-Allow-Methods"], "PUT");
  EXPECT_EQ(h["Access-Control-Allow-Headers"], "x-a, x-b");
}

TEST(Cors, RecognisesPreflightsAndCorsHeaders) {
  EXPECT_FALSE(isPreflight({"OPTIONS", "https://a.example", std::nullopt, {}}));
  EXPECT_FALSE(isPreflight({"OPTIONS", std::nullopt, "GET", {}}));
  EXPECT_FALSE(isPreflight({"GET", "https://a.example", "GET", {}}));
  EXPECT_TRUE(isCorsHeader("Access-Control-Allow-Origin"));
  EXPECT_TRUE(isCorsHeader("access-control-max-age"));
  EXPECT_FALSE(isCorsHeader("content-type"));
  EXPECT_FALSE(isCorsHeader("access"));
}

}  // namespace
}  // namespace gust::apigw
