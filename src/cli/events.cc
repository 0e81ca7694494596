#include "cli/events.h"

#include <boost/json.hpp>

#include <ctime>

#include <fmt/format.h>

#include "cli/json_util.h"
#include "common/crypto.h"

namespace gust::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kAccount = "123456789012";
constexpr std::string_view kRegion = "us-east-1";
constexpr std::string_view kApiId = "a1b2c3d4e5";
constexpr std::string_view kSourceIp = "203.0.113.7";
constexpr std::string_view kUserAgent = "curl/8.4.0";

std::tm utc(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

// 2026-11-24T21:00:00Z
std::string isoTime(int64_t ms) {
  std::tm tm = utc(ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// API Gateway's requestTime: 24/Nov/2026:21:00:00 +0000
std::string clfTime(int64_t ms) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = utc(ms);
  return fmt::format("{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000", tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// "a=1&b=2&a=3" split into pairs (no percent-decoding: samples use plain values).
std::vector<std::pair<std::string, std::string>> queryPairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      out.emplace_back(std::string(part.substr(0, eq)),
                       eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

json::value bodyValue(const EventOptions& o) {
  return o.body.empty() ? json::value(nullptr) : json::value(json::string(o.body));
}

std::string domainName() { return fmt::format("{}.execute-api.{}.amazonaws.com", kApiId, kRegion); }

json::object apiGatewayV1(const EventOptions& o) {
  json::object headers{{"accept", "*/*"},
                       {"Host", domainName()},
                       {"User-Agent", kUserAgent},
                       {"X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678"},
                       {"X-Forwarded-For", kSourceIp},
                       {"X-Forwarded-Port", "443"},
                       {"X-Forwarded-Proto", "https"}};
  if (!o.body.empty()) headers["content-type"] = "application/json";
  json::object multi_headers;
  for (const auto& [k, v] : headers) multi_headers[k] = json::array{v};
  json::value query = nullptr, multi_query = nullptr;
  for (const auto& [k, v] : queryPairs(o.query)) {
    if (!query.is_object()) query = json::object();
    if (!multi_query.is_object()) multi_query = json::object();
    query.get_object()[k] = v;  // the last value wins, as in API Gateway
    auto& list = multi_query.get_object()[k];
    if (!list.is_array()) list = json::array();
    list.get_array().push_back(json::string(v));
  }
  std::string proxy = o.path.substr(1);
  std::string request_id = uuid4();
  json::object identity{{"accessKey", nullptr},
                        {"accountId", nullptr},
                        {"caller", nullptr},
                        {"cognitoAuthenticationProvider", nullptr},
                        {"cognitoAuthenticationType", nullptr},
                        {"cognitoIdentityId", nullptr},
                        {"cognitoIdentityPoolId", nullptr},
                        {"principalOrgId", nullptr},
                        {"sourceIp", kSourceIp},
                        {"user", nullptr},
                        {"userAgent", kUserAgent},
                        {"userArn", nullptr},
                        {"clientCert", nullptr}};
  json::object context{{"accountId", kAccount},
                       {"apiId", kApiId},
                       {"authorizer", json::object{{"claims", nullptr}, {"scopes", nullptr}}},
                       {"domainName", domainName()},
                       {"domainPrefix", kApiId},
                       {"extendedRequestId", "BBdD2F6ZoAMFxmw="},
                       {"httpMethod", o.method},
                       {"identity", std::move(identity)},
                       {"path", "/prod" + o.path},
                       {"protocol", "HTTP/1.1"},
                       {"requestId", request_id},
                       {"requestTime", clfTime(o.now_ms)},
                       {"requestTimeEpoch", o.now_ms},
                       {"resourceId", "x1y2z3"},
                       {"resourcePath", "/{proxy+}"},
                       {"stage", "prod"}};
  return json::object{{"resource", "/{proxy+}"},
                      {"path", o.path},
                      {"httpMethod", o.method},
                      {"headers", std::move(headers)},
                      {"multiValueHeaders", std::move(multi_headers)},
                      {"queryStringParameters", std::move(query)},
                      {"multiValueQueryStringParameters", std::move(multi_query)},
                      {"pathParameters", json::object{{"proxy", proxy}}},
                      {"stageVariables", nullptr},
                      {"requestContext", std::move(context)},
                      {"body", bodyValue(o)},
                      {"isBase64Encoded", false}};
}

json::object apiGatewayV2(const EventOptions& o) {
  json::object headers{{"accept", "*/*"},
                       {"content-length", std::to_string(o.body.size())},
                       {"host", domainName()},
                       {"user-agent", kUserAgent},
                       {"x-amzn-trace-id", "Root=1-67891233-abcdef012345678912345678"},
                       {"x-forwarded-for", kSourceIp},
                       {"x-forwarded-port", "443"},
                       {"x-forwarded-proto", "https"}};
  if (!o.body.empty()) headers["content-type"] = "application/json";
  json::object query;
  for (const auto& [k, v] : queryPairs(o.query)) {
    // No multi-value maps in 2.0: repeated parameters are joined with commas.
    if (auto* existing = query.if_contains(k)) {
      existing->get_string().append(",").append(v);
    } else {
      query[k] = v;
    }
  }
  json::object http{{"method", o.method},
                    {"path", o.path},
                    {"protocol", "HTTP/1.1"},
                    {"sourceIp", kSourceIp},
                    {"userAgent", kUserAgent}};
  json::object jwt{
      {"claims", json::object{{"iss", "https://issuer.example.com"}, {"sub", "user-1234"}}},
      {"scopes", json::array{"read"}}};
  json::object context{
      {"accountId", kAccount},      {"apiId", kApiId},
      {"authentication", nullptr},  {"authorizer", json::object{{"jwt", std::move(jwt)}}},
      {"domainName", domainName()}, {"domainPrefix", kApiId},
      {"http", std::move(http)},    {"requestId", "JKJaXmPLvHcESHA="},
      {"routeKey", "$default"},     {"stage", "$default"},
      {"time", clfTime(o.now_ms)},  {"timeEpoch", o.now_ms}};
  json::object event{{"version", "2.0"},
                     {"routeKey", "$default"},
                     {"rawPath", o.path},
                     {"rawQueryString", o.query},
                     {"cookies", json::array{"session=4f2c1a"}},
                     {"headers", std::move(headers)}};
  if (!query.empty()) event["queryStringParameters"] = std::move(query);
  event["requestContext"] = std::move(context);
  if (!o.body.empty()) event["body"] = o.body;
  event["pathParameters"] = json::object();
  event["isBase64Encoded"] = false;
  event["stageVariables"] = json::object();
  return event;
}

json::object schedule(const EventOptions& o) {
  return json::object{
      {"version", "0"},
      {"id", uuid4()},
      {"detail-type", "Scheduled Event"},
      {"source", "aws.events"},
      {"account", kAccount},
      {"time", isoTime(o.now_ms)},
      {"region", kRegion},
      {"resources",
       json::array{fmt::format("arn:aws:events:{}:{}:rule/every-5-minutes", kRegion, kAccount)}},
      {"detail", json::object()}};
}

json::object topic(const EventOptions& o) {
  std::string topic_arn = fmt::format("arn:aws:sns:{}:{}:my-topic", kRegion, kAccount);
  std::string subscription_arn = fmt::format("{}:{}", topic_arn, uuid4());
  json::object sns{
      {"Type", "Notification"},
      {"MessageId", uuid4()},
      {"TopicArn", topic_arn},
      {"Subject", "Example subject"},
      {"Message", o.body.empty() ? std::string("Hello from the topic") : o.body},
      {"Timestamp", isoTime(o.now_ms)},
      {"SignatureVersion", "1"},
      {"Signature", "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQ"},
      {"SigningCertUrl",
       fmt::format("https://sns.{}.amazonaws.com/SimpleNotificationService-EXAMPLE.pem", kRegion)},
      {"UnsubscribeUrl",
       fmt::format("https://sns.{}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={}", kRegion,
                   subscription_arn)},
      {"MessageAttributes",
       json::object{{"source", json::object{{"Type", "String"}, {"Value", "gust"}}}}}};
  json::object record{{"EventSource", "aws:sns"},
                      {"EventVersion", "1.0"},
                      {"EventSubscriptionArn", subscription_arn},
                      {"Sns", std::move(sns)}};
  return json::object{{"Records", json::array{std::move(record)}}};
}

}  // namespace

const std::vector<std::string>& sampleEventKinds() {
  static const std::vector<std::string> kKinds = {"apigateway-v1", "apigateway-v2", "schedule",
                                                  "topic"};
  return kKinds;
}

Result<std::string> sampleEvent(std::string_view kind, const EventOptions& options) {
  if (kind.starts_with("apigateway") && !options.path.starts_with("/"))
    return Error::invalid(
        fmt::format("--path '{}' does not start with '/'; use e.g. --path /hello", options.path));
  if (kind == "apigateway-v1") return prettyJson(apiGatewayV1(options));
  if (kind == "apigateway-v2") return prettyJson(apiGatewayV2(options));
  if (kind == "schedule") return prettyJson(schedule(options));
  if (kind == "topic") return prettyJson(topic(options));
  return Error::invalid(fmt::format("no sample event of kind '{}'; choose one of: {}", kind,
                                    fmt::join(sampleEventKinds(), ", ")));
}

}  // namespace gust::cli
