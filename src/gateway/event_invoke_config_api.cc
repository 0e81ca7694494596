#include "gateway/event_invoke_config_api.h"

#include <boost/json.hpp>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/function_service.h"
#include "events/destinations.h"
#include "gateway/lambda_api.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

constexpr int kDefaultMaxItems = 50;
constexpr int kMaxMaxItems = 50;

// The fields a Put or Update carries; absent ones are nullopt.
struct ConfigInput {
  std::optional<std::optional<int>> retries;  // present; null clears
  std::optional<std::optional<int>> max_age;
  std::optional<std::string> on_success;  // present; "" clears
  std::optional<std::string> on_failure;
};

Result<std::optional<int>> intField(const json::value& v, std::string_view name) {
  if (v.is_null()) return std::optional<int>();
  if (!v.is_int64() && !v.is_uint64())
    return Error::invalid(fmt::format("{}: must be an integer", name));
  int64_t n = v.is_int64() ? v.as_int64() : static_cast<int64_t>(v.as_uint64());
  if (n < INT32_MIN || n > INT32_MAX)
    return Error::invalid(fmt::format("{}: {} is out of range", name, n));
  return std::optional<int>(static_cast<int>(n));
}

Result<std::string> destinationField(const json::value& v, std::string_view which) {
  if (v.is_null()) return std::string();
  if (!v.is_object())
    return Error::invalid(fmt::format(
        "DestinationConfig.{}: must be an object like {{\"Destination\": \"arn:...\"}}", which));
  std::string arn;
  for (const auto& [key, value] : v.as_object()) {
    if (key != "Destination")
      return Error::invalid(
          fmt::format("DestinationConfig.{}: unknown field '{}'; allowed: "
                      "Destination",
                      which, std::string_view(key).substr(0, 64)));
    if (!value.is_string() && !value.is_null())
      return Error::invalid(
          fmt::format("DestinationConfig.{}.Destination: must be an ARN string", which));
    if (value.is_string()) arn = std::string(value.as_string());
  }
  return arn;
}

Result<ConfigInput> parseInput(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body.empty() ? std::string_view("{}") : body, ec);
  if (ec || !v.is_object())
    return Error::invalid(
        fmt::format("Could not parse request body into json: {}; send a JSON object such as "
                    "{{\"MaximumRetryAttempts\": 1}}",
                    ec ? ec.message() : std::string("expected an object")));
  ConfigInput in;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "MaximumRetryAttempts") {
      GUST_ASSIGN_OR_RETURN(in.retries, intField(value, key));
    } else if (key == "MaximumEventAgeInSeconds") {
      GUST_ASSIGN_OR_RETURN(in.max_age, intField(value, key));
    } else if (key == "DestinationConfig") {
      if (value.is_null()) {
        in.on_success = in.on_failure = std::string();
        continue;
      }
      if (!value.is_object())
        return Error::invalid(
            "DestinationConfig: must be an object with OnSuccess and/or "
            "OnFailure");
      for (const auto& [which, dest] : value.as_object()) {
        if (which == "OnSuccess") {
          GUST_ASSIGN_OR_RETURN(in.on_success, destinationField(dest, which));
        } else if (which == "OnFailure") {
          GUST_ASSIGN_OR_RETURN(in.on_failure, destinationField(dest, which));
        } else {
          return Error::invalid(
              fmt::format("DestinationConfig: unknown field '{}'; allowed: OnSuccess, OnFailure",
                          std::string_view(which).substr(0, 64)));
        }
      }
    } else {
      return Error::invalid(fmt::format(
          "unknown field '{}'; allowed: MaximumRetryAttempts, MaximumEventAgeInSeconds, "
          "DestinationConfig",
          std::string_view(key).substr(0, 64)));
    }
  }
  return in;
}

class Api {
 public:
  Api(EventInvokeConfigApiOptions options, control::FunctionService& functions)
      : options_(std::move(options)), functions_(functions) {}

  http::Response put(const http::Request& req, const PathParams& params, bool update) {
    auto ref = refOf(req, params);
    if (!ref) return lambdaError(ref.error());
    auto in = parseInput(req.body);
    if (!in) return lambdaError(in.error());
    store::EventInvokeConfigRecord config;
    config.function = ref->name;
    config.qualifier = ref->qualifier.empty() ? "$LATEST" : ref->qualifier;
    if (update) {
      auto existing = functions_.getEventInvokeConfig(config.function, config.qualifier);
      if (!existing) return notFound(existing.error(), *ref);
      config = std::move(*existing);
    }
    if (in->retries) config.maximum_retry_attempts = *in->retries;
    if (in->max_age) config.maximum_event_age_s = *in->max_age;
    if (in->on_success) config.on_success = *in->on_success;
    if (in->on_failure) config.on_failure = *in->on_failure;
    for (const std::string* arn : {&config.on_success, &config.on_failure}) {
      if (auto st = checkDestination(*arn, *ref); !st) return lambdaError(st.error());
    }
    auto stored = functions_.putEventInvokeConfig(std::move(config));
    if (!stored) return lambdaError(stored.error());
    return http::Response::json(200, json::serialize(shape(*stored)));
  }

  http::Response get(const http::Request& req, const PathParams& params) {
    auto ref = refOf(req, params);
    if (!ref) return lambdaError(ref.error());
    auto config = functions_.getEventInvokeConfig(ref->name, ref->qualifier);
    if (!config) return notFound(config.error(), *ref);
    return http::Response::json(200, json::serialize(shape(*config)));
  }

  http::Response remove(const http::Request& req, const PathParams& params) {
    auto ref = refOf(req, params);
    if (!ref) return lambdaError(ref.error());
    if (auto st = functions_.deleteEventInvokeConfig(ref->name, ref->qualifier); !st)
      return notFound(st.error(), *ref);
    http::Response res;
    res.status = 204;
    return res;
  }

  http::Response list(const http::Request& req, const PathParams& params) {
    auto query = parseQuery(req.query);
    if (!query) return lambdaError(query.error());
    auto ref = lambda::parseFunctionRef(params.at("fn"), std::nullopt);
    if (!ref) return lambdaError(ref.error());
    if (!ref->qualifier.empty())
      return lambdaError(Error::invalid(
          "ListFunctionEventInvokeConfigs takes an unqualified function name; remove the "
          "qualifier"));
    int max_items = kDefaultMaxItems;
    std::string marker;
    for (const auto& [key, value] : *query) {
      if (key == "MaxItems") {
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), max_items);
        if (ec != std::errc() || end != value.data() + value.size() || max_items < 1 ||
            max_items > kMaxMaxItems)
          return lambdaError(
              Error::invalid(fmt::format("MaxItems: '{}' is not allowed; allowed: 1 to {}",
                                         value.substr(0, 32), kMaxMaxItems)));
      } else if (key == "Marker") {
        marker = value;
      } else {
        return lambdaError(Error::invalid(fmt::format(
            "unknown query parameter '{}'; allowed: MaxItems, Marker", key.substr(0, 64))));
      }
    }
    auto configs = functions_.listEventInvokeConfigs(ref->name);
    if (!configs) return lambdaError(configs.error());
    json::array out;
    std::string next;
    for (const auto& c : *configs) {
      if (!marker.empty() && c.qualifier <= marker) continue;
      if (static_cast<int>(out.size()) == max_items) {
        next = std::string(out.back().as_object().at("FunctionArn").as_string());
        next = next.substr(next.rfind(':') + 1);
        break;
      }
      out.push_back(shape(c));
    }
    json::object body{{"FunctionEventInvokeConfigs", std::move(out)}};
    if (!next.empty()) body["NextMarker"] = next;
    return http::Response::json(200, json::serialize(body));
  }

 private:
  Result<lambda::FunctionRef> refOf(const http::Request& req, const PathParams& params) {
    GUST_ASSIGN_OR_RETURN(auto query, parseQuery(req.query));
    std::optional<std::string> qualifier;
    for (const auto& [key, value] : query) {
      if (key != "Qualifier")
        return Error::invalid(
            fmt::format("unknown query parameter '{}'; allowed: Qualifier", key.substr(0, 64)));
      qualifier = value;
    }
    return lambda::parseFunctionRef(params.at("fn"), qualifier);
  }

  // Lambda's message when there is no config (the function itself missing keeps its own).
  http::Response notFound(const Error& error, const lambda::FunctionRef& ref) {
    if (error.code != ErrorCode::kNotFound || !functions_.get(ref.name)) return lambdaError(error);
    return lambdaError(Error::notFound(
        fmt::format("The function {} doesn't have an EventInvokeConfig; create one with "
                    "PutFunctionEventInvokeConfig",
                    lambda::functionArn(options_.account, ref.name,
                                        ref.qualifier.empty() ? "$LATEST" : ref.qualifier))));
  }

  Status checkDestination(const std::string& arn, const lambda::FunctionRef& ref) {
    if (arn.empty()) return okStatus();
    GUST_ASSIGN_OR_RETURN(events::Destination d, events::parseDestination(arn));
    switch (d.kind) {
      case events::DestinationKind::kFunction:
        if (d.name == ref.name)
          return Error::invalid(fmt::format(
              "destination {}: a function cannot be its own destination; choose another "
              "function, a topic or a queue",
              arn));
        return okStatus();
      case events::DestinationKind::kTopic:
        if (!options_.check_topic)
          return Error::invalid(fmt::format(
              "destination {}: this server has no topics yet; use a function or a queue "
              "(arn:aws:sqs:REGION:ACCOUNT:QUEUE, the built-in dead-letter store)",
              arn));
        return options_.check_topic(arn);
      case events::DestinationKind::kDeadLetterStore:
        return okStatus();
    }
    return okStatus();
  }

  json::object shape(const store::EventInvokeConfigRecord& c) {
    auto destination = [](const std::string& arn) {
      json::object o;
      if (!arn.empty()) o["Destination"] = arn;
      return o;
    };
    json::object body{
        {"FunctionArn", lambda::functionArn(options_.account, c.function, c.qualifier)},
        {"LastModified", static_cast<double>(c.last_modified_ms) / 1000.0},
        {"DestinationConfig", json::object{{"OnSuccess", destination(c.on_success)},
                                           {"OnFailure", destination(c.on_failure)}}}};
    if (c.maximum_retry_attempts) body["MaximumRetryAttempts"] = *c.maximum_retry_attempts;
    if (c.maximum_event_age_s) body["MaximumEventAgeInSeconds"] = *c.maximum_event_age_s;
    return body;
  }

  EventInvokeConfigApiOptions options_;
  control::FunctionService& functions_;
};

}  // namespace

void addEventInvokeConfigRoutes(Router<Handler>& router, EventInvokeConfigApiOptions options,
                                control::FunctionService& functions, ThreadPool& pool) {
  auto api = std::make_shared<Api>(std::move(options), functions);
  using Op = std::function<http::Response(Api&, const http::Request&, const PathParams&)>;
  auto route = [&](std::string method, std::string path, Op op) {
    router.add(
        method, path,
        [api, &pool, op](http::Request&& req, const PathParams& params, http::Responder respond) {
          offload(pool, std::move(respond),
                  [api, op, req = std::move(req), params] { return op(*api, req, params); });
        });
  };
  const std::string path = "/2019-09-25/functions/{fn}/event-invoke-config";
  route("PUT", path,
        [](Api& a, const http::Request& r, const PathParams& p) { return a.put(r, p, false); });
  route("POST", path,
        [](Api& a, const http::Request& r, const PathParams& p) { return a.put(r, p, true); });
  route("GET", path,
        [](Api& a, const http::Request& r, const PathParams& p) { return a.get(r, p); });
  route("DELETE", path,
        [](Api& a, const http::Request& r, const PathParams& p) { return a.remove(r, p); });
  route("GET", path + "/list",
        [](Api& a, const http::Request& r, const PathParams& p) { return a.list(r, p); });
}

}  // namespace gust::gateway
