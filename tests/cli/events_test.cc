#include "cli/events.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace gust::cli {
namespace {

namespace json = boost::json;

json::object event(std::string_view kind, EventOptions options = {}) {
  options.now_ms = 1795554000000;  // 2026-11-24T21:00:00Z
  auto text = sampleEvent(kind, options);
  EXPECT_TRUE(text.ok()) << text.error().message;
  return json::parse(*text).as_object();
}

void expectKeys(const json::object& o, std::initializer_list<std::string_view> keys) {
  for (auto key : keys) EXPECT_TRUE(o.contains(key)) << "missing " << key;
}

TEST(SampleEventTest, ApiGatewayV1HasTheRestProxyFields) {
  EventOptions options;
  options.method = "POST";
  options.path = "/orders/42";
  options.query = "a=1&a=2&b=x";
  options.body = R"({"qty": 3})";
  auto e = event("apigateway-v1", options);
  expectKeys(e, {"resource", "path", "httpMethod", "headers", "multiValueHeaders",
                 "queryStringParameters", "multiValueQueryStringParameters", "requestContext",
                 "pathParameters", "stageVariables", "body", "isBase64Encoded"});
  EXPECT_EQ(e.at("httpMethod"), "POST");
  EXPECT_EQ(e.at("path"), "/orders/42");
  EXPECT_EQ(e.at("body"), R"({"qty": 3})");
  EXPECT_EQ(e.at("queryStringParameters"), json::parse(R"({"a": "2", "b": "x"})"));
  EXPECT_EQ(e.at("multiValueQueryStringParameters"),
            json::parse(R"({"a": ["1", "2"], "b": ["x"]})"));
  const auto& ctx = e.at("requestContext").as_object();
  expectKeys(ctx, {"accountId", "apiId", "authorizer", "domainName", "domainPrefix",
                   "extendedRequestId", "httpMethod", "identity", "path", "protocol", "requestId",
                   "requestTime", "requestTimeEpoch", "resourceId", "resourcePath", "stage"});
  EXPECT_EQ(ctx.at("requestTime"), "24/Nov/2026:21:00:00 +0000");
  EXPECT_EQ(ctx.at("requestTimeEpoch"), 1795554000000);
  expectKeys(ctx.at("identity").as_object(), {"sourceIp", "userAgent"});
}

TEST(SampleEventTest, ApiGatewayV2HasTheHttpApiFields) {
  EventOptions options;
  options.query = "a=1&a=2";
  auto e = event("apigateway-v2", options);
  expectKeys(e, {"version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
                 "queryStringParameters", "requestContext", "pathParameters", "isBase64Encoded",
                 "stageVariables"});
  EXPECT_EQ(e.at("version"), "2.0");
  EXPECT_EQ(e.at("rawQueryString"), "a=1&a=2");
  EXPECT_EQ(e.at("queryStringParameters"), json::parse(R"({"a": "1,2"})"));
  EXPECT_FALSE(e.contains("body"));  // a GET without a body
  for (const auto& [name, value] : e.at("headers").as_object()) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    EXPECT_EQ(lower, std::string(name)) << "2.0 header names are lower-case";
  }
  const auto& ctx = e.at("requestContext").as_object();
  expectKeys(ctx, {"accountId", "apiId", "authorizer", "domainName", "domainPrefix", "http",
                   "requestId", "routeKey", "stage", "time", "timeEpoch"});
  expectKeys(ctx.at("http").as_object(), {"method", "path", "protocol", "sourceIp", "userAgent"});
  EXPECT_EQ(ctx.at("http").at("method"), "GET");
}

TEST(SampleEventTest, ScheduleIsAnEventBridgeScheduledEvent) {
  auto e = event("schedule");
  expectKeys(e, {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                 "detail"});
  EXPECT_EQ(e.at("detail-type"), "Scheduled Event");
  EXPECT_EQ(e.at("source"), "aws.events");
  EXPECT_EQ(e.at("time"), "2026-11-24T21:00:00Z");
}

TEST(SampleEventTest, TopicIsAnSnsNotification) {
  EventOptions options;
  options.body = "order shipped";
  auto e = event("topic", options);
  const auto& record = e.at("Records").as_array().at(0).as_object();
  EXPECT_EQ(record.at("EventSource"), "aws:sns");
  const auto& sns = record.at("Sns").as_object();
  expectKeys(
      sns, {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
            "Signature", "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes"});
  EXPECT_EQ(sns.at("Message"), "order shipped");
}

TEST(SampleEventTest, UnknownKindsAndBadPathsAreRefused) {
  auto unknown = sampleEvent("s3", {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("apigateway-v1, apigateway-v2, schedule, topic"),
            std::string::npos);
  EventOptions options;
  options.path = "hello";
  EXPECT_FALSE(sampleEvent("apigateway-v2", options).ok());
}

}  // namespace
}  // namespace gust::cli
