#include "events/destinations.h"

#include <boost/json.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "common/time.h"

namespace gust::events {
namespace {

namespace json = boost::json;

constexpr std::string_view kForms =
    "use arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] (a function), "
    "arn:aws:sns:REGION:ACCOUNT:TOPIC (a topic) or arn:aws:sqs:REGION:ACCOUNT:QUEUE (the "
    "built-in dead-letter store)";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

bool isName(std::string_view s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

bool isQualifier(std::string_view s) { return s == "$LATEST" || isName(s, 128); }

// JSON text as a value; text that is not JSON as a string.
json::value jsonOrString(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
}

}  // namespace

Result<Destination> parseDestination(std::string_view arn) {
  auto bad = [&](std::string_view why) {
    return Error::invalid(fmt::format("destination '{}' {}; {}", arn.substr(0, 256), why, kForms));
  };
  auto parts = split(arn, ':');
  if (parts.size() < 6 || parts[0] != "arn" || parts[1].empty()) return bad("is not an ARN");
  std::string_view service = parts[2];
  Destination d;
  d.arn = std::string(arn);
  if (service == "lambda") {
    if (parts[5] != "function" || parts.size() < 7 || parts.size() > 8)
      return bad("is not a function ARN");
    if (!isName(parts[6], 64)) return bad("names no valid function (1-64 of A-Z a-z 0-9 - _)");
    if (parts.size() == 8 && !isQualifier(parts[7])) return bad("has an invalid qualifier");
    d.kind = DestinationKind::kFunction;
    d.name = std::string(parts[6]);
    if (parts.size() == 8) d.qualifier = std::string(parts[7]);
    return d;
  }
  if (service == "sns" || service == "sqs") {
    if (parts.size() != 6 || !isName(parts[5], 256))
      return bad(fmt::format("has no valid {} name (1-256 of A-Z a-z 0-9 - _)",
                             service == "sns" ? "topic" : "queue"));
    d.kind = service == "sns" ? DestinationKind::kTopic : DestinationKind::kDeadLetterStore;
    d.name = std::string(parts[5]);
    return d;
  }
  return bad(
      fmt::format("is of service '{}', which is no destination here", service.substr(0, 32)));
}

std::string invocationRecord(const Event& event, std::string_view condition,
                             std::string_view function_arn, int64_t now_ms) {
  json::object request_context{{"requestId", event.id},
                               {"functionArn", function_arn},
                               {"condition", condition},
                               {"approximateInvokeCount", event.invocations}};
  json::object response_context{{"statusCode", event.last_status},
                                {"executedVersion", event.last_version}};
  if (!event.last_function_error.empty())
    response_context["functionError"] = event.last_function_error;
  json::object record{{"version", "1.0"},
                      {"timestamp", isoUtcMs(now_ms)},
                      {"requestContext", std::move(request_context)},
                      {"requestPayload", jsonOrString(event.payload)},
                      {"responseContext", std::move(response_context)}};
  if (event.invocations > 0 && event.last_status == 200)
    record["responsePayload"] = jsonOrString(event.last_response);
  return json::serialize(record);
}

}  // namespace gust::events
