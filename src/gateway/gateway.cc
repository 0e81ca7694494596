#include "gateway/gateway.h"

#include <boost/json.hpp>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/credentials.h"
#include "auth/sigv4.h"
#include "common/crypto.h"
#include "common/thread_pool.h"
#include "common/time.h"
#include "control/function_config.h"
#include "control/function_service.h"
#include "engine/engine.h"
#include "events/scheduler.h"
#include "gateway/common.h"
#include "gateway/dead_letters.h"
#include "gateway/event_invoke_config_api.h"
#include "gateway/events_routes.h"
#include "gateway/invoker.h"
#include "gateway/lambda_api.h"
#include "gateway/router.h"
#include "gateway/usage_plan_api.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

bool parseInt64(std::string_view s, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// A point in time: epoch milliseconds, or ISO 8601 UTC ("2026-11-24T21:00:00Z", optionally with
// .mmm and "Z", "+0000" or "+00:00").
Result<int64_t> parseTimeMs(std::string_view field, std::string_view s) {
  int64_t ms = 0;
  if (parseInt64(s, ms)) return ms;
  std::tm tm{};
  int millis = 0;
  char rest[16] = {};
  int n = std::sscanf(std::string(s).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &tm.tm_year,
                      &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, rest);
  std::string_view tail = n == 7 ? std::string_view(rest) : std::string_view();
  if (tail.starts_with(".")) {
    size_t digits = 1;
    while (digits < tail.size() && std::isdigit(static_cast<unsigned char>(tail[digits]))) ++digits;
    std::string frac(tail.substr(1, digits - 1));
    frac.resize(3, '0');
    millis = std::atoi(frac.c_str());
    tail.remove_prefix(digits);
  }
  bool utc = tail.empty() || tail == "Z" || tail == "+0000" || tail == "+00:00";
  if (n < 6 || !utc)
    return Error::invalid(
        fmt::format("{}: '{}' is not a time; use epoch milliseconds or ISO 8601 UTC such as "
                    "2026-11-24T21:00:00Z",
                    field, s.substr(0, 64)));
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + millis;
}

constexpr int kDefaultLogLimit = 100;
constexpr int kMaxLogLimit = 1000;

// The Lambda API's dated paths, e.g. /2015-03-31/functions.
bool isLambdaPath(std::string_view path) {
  return path.size() > 12 && path[0] == '/' && path[1] == '2' && path[5] == '-' && path[8] == '-' &&
         path[11] == '/';
}

}  // namespace

LambdaApiOptions lambdaOptions(const GatewayOptions& options) {
  LambdaApiOptions out{{options.region, options.account_id},
                       options.max_sync_payload_bytes,
                       options.max_async_payload_bytes,
                       hmacSha256Hex(options.token, "gust code links")};
  out.events = options.events;
  return out;
}

class Gateway::Impl {
 public:
  Impl(GatewayOptions options, control::FunctionService& functions, engine::Engine& engine)
      : options_(std::move(options)),
        functions_(functions),
        engine_(engine),
        invoker_(functions, engine, control_pool_),
        control_pool_(options_.control_threads),
        lambda_(lambdaOptions(options_), functions, invoker_, control_pool_) {
    router_.add("GET", "/healthz", [](http::Request&&, const PathParams&, http::Responder r) {
      r(http::Response::json(200, R"({"status":"ok"})"));
    });
    router_.add("GET", "/api/v1/functions", bind(&Impl::listFunctions));
    router_.add("POST", "/api/v1/functions", bind(&Impl::deployFunction));
    router_.add("GET", "/api/v1/functions/{name}", bind(&Impl::getFunction));
    router_.add("DELETE", "/api/v1/functions/{name}", bind(&Impl::deleteFunction));
    router_.add("POST", "/api/v1/functions/{name}/invoke",
                [this](http::Request&& req, const PathParams& params, http::Responder r) {
                  lambda_.invoke(std::move(req), params, std::move(r));
                });
    router_.add("GET", "/api/v1/functions/{name}/logs", bind(&Impl::getLogs));
    addDeadLetterRoutes(router_, options_.events, control_pool_);
    addEventInvokeConfigRoutes(
        router_,
        EventInvokeConfigApiOptions{{options_.region, options_.account_id}, options_.check_topic},
        functions, control_pool_);
    router_.add("POST", "/api/v1/credentials", bind(&Impl::createCredential));
    router_.add("GET", "/api/v1/credentials", bind(&Impl::listCredentials));
    router_.add("DELETE", "/api/v1/credentials/{id}", bind(&Impl::revokeCredential));
    addScheduleRoutes(router_, control_pool_, options_.scheduler);
    addTopicRoutes(router_, control_pool_, options_.topics);
    lambda_.addRoutes(router_);
    if (options_.usage_plans) addUsagePlanRoutes(router_, *options_.usage_plans, control_pool_);
  }

  Status configureEngine() { return lambda_.configureEngine(); }
  Invoker& invoker() { return invoker_; }

  void enqueueEvent(events::Event event, std::function<void(Result<std::string>)> done) {
    lambda_.enqueueEvent(std::move(event), std::move(done));
  }

  void handle(http::Request&& req, http::Responder respond) {
    bool lambda_path = isLambdaPath(req.path);
    if (lambda_path) {
      if (auto denied = authenticateAws(req)) return respond(std::move(*denied));
    }
    auto match = router_.match(req.method, req.path);
    if (!match.handler && lambda_path) {
      return respond(lambdaError(
          Error::notFound(fmt::format(
              "{} {} is not an operation of the Lambda API that Gust implements; the supported "
              "operations are listed in api/lambda-api.md",
              req.method, req.path.substr(0, 200))),
          "UnsupportedOperationException"));
    }
    if (!match.handler) {
      if (match.path_matched) {
        std::string allowed = fmt::format("{}", fmt::join(match.allowed_methods, ", "));
        auto res = errorResponse(ErrorCode::kInvalidArgument,
                                 fmt::format("method {} is not allowed on {}; allowed: {}",
                                             req.method, req.path, allowed));
        res.status = 405;
        res.headers.push_back({"allow", allowed});
        return respond(std::move(res));
      }
      return respond(
          errorResponse(ErrorCode::kNotFound,
                        fmt::format("no route for {} {}; the API is described in api/openapi.yaml",
                                    req.method, req.path)));
    }
    if (req.path.starts_with("/api/")) {
      if (auto denied = authenticate(req)) return respond(std::move(*denied));
    }
    (*match.handler)(std::move(req), match.params, std::move(respond));
  }

  // Lambda's API as a function's instance reaches it inside its sandbox: Invoke alone, for the
  // callees its `invokes` allows, nested at most engine::kMaxCascadeDepth deep. No
  // authentication: the listener a request arrives on says who sent it.
  void handleFromInstance(const engine::InstanceCaller& caller, http::Request&& req,
                          http::Responder respond) {
    const engine::FunctionSpec& fn = caller.function();
    constexpr std::string_view kFunctions = "/2015-03-31/functions/";
    constexpr std::string_view kInvocations = "/invocations";
    std::string_view path = req.path;
    bool invoke =
        req.method == "POST" && path.starts_with(kFunctions) && path.ends_with(kInvocations) &&
        path.size() > kFunctions.size() + kInvocations.size() &&
        path.substr(kFunctions.size(), path.size() - kFunctions.size() - kInvocations.size())
                .find('/') == std::string_view::npos;
    if (!invoke) {
      bool operation = isLambdaPath(path) && router_.match(req.method, req.path).handler;
      if (operation)
        return respond(lambdaError(Error{ErrorCode::kPermissionDenied,
                                         fmt::format("{} {}: functions may call only Invoke "
                                                     "(POST /2015-03-31/functions/{{name}}/"
                                                     "invocations) from inside their sandbox; "
                                                     "use the server's API for anything else",
                                                     req.method, path.substr(0, 200))},
                                   "AccessDeniedException"));
      return respond(lambdaError(
          Error::notFound(fmt::format(
              "{} {} is not served inside a function's sandbox: only Lambda's Invoke is "
              "(POST /2015-03-31/functions/{{name}}/invocations)",
              req.method, path.substr(0, 200))),
          "UnsupportedOperationException"));
    }
    std::string name(
        path.substr(kFunctions.size(), path.size() - kFunctions.size() - kInvocations.size()));
    auto query = parseQuery(req.query);
    if (!query) return respond(lambdaError(query.error()));
    std::optional<std::string> qualifier;
    if (auto it = query->find("Qualifier"); it != query->end()) qualifier = it->second;
    auto ref = lambda::parseFunctionRef(name, qualifier);
    if (!ref) return respond(lambdaError(ref.error()));
    if (!control::invokeAllowed(fn.invokes, ref->name, ref->qualifier)) {
      std::string entry = ref->qualifier.empty()
                              ? fmt::format("\"{}\"", ref->name)
                              : fmt::format("\"{}:{}\" (or \"{}\" for every qualifier)", ref->name,
                                            ref->qualifier, ref->name);
      return respond(lambdaError(
          Error{ErrorCode::kPermissionDenied,
                fmt::format("function {} is not allowed to invoke {}{}{}: add {} to the "
                            "`invokes` list in {}'s gust.yaml (or deploy request) and deploy it "
                            "again",
                            fn.name, ref->name, ref->qualifier.empty() ? "" : ":", ref->qualifier,
                            entry, fn.name)},
          "AccessDeniedException"));
    }
    int depth = caller.depth() + 1;
    if (depth > engine::kMaxCascadeDepth)
      return respond(lambdaError(
          Error::invalid(fmt::format(
              "function {} invoked {} at depth {}: invocations nested through functions stop at "
              "depth {}, which usually means a loop (A invokes B, which invokes A); break the "
              "cycle or end the recursion sooner",
              fn.name, ref->name, depth, engine::kMaxCascadeDepth)),
          "RecursiveInvocationException"));
    PathParams params{{"name", name}};
    lambda_.invoke(std::move(req), params, std::move(respond), depth);
  }

 private:
  Handler bind(void (Impl::*method)(http::Request&&, const PathParams&, http::Responder)) {
    return [this, method](http::Request&& req, const PathParams& params, http::Responder r) {
      (this->*method)(std::move(req), params, std::move(r));
    };
  }

  // The Lambda API takes AWS Signature Version 4 (AWS CLI and SDKs) or the bearer token (the
  // gust CLI); failures are answered in Lambda's error shape.
  std::optional<http::Response> authenticateAws(const http::Request& req) const {
    auto header = req.header("authorization");
    if (header && header->starts_with("AWS4-")) {
      if (!options_.credentials)
        return lambdaError(Error{ErrorCode::kUnauthenticated,
                                 "this server does not accept AWS signatures; use its bearer "
                                 "token"},
                           "UnrecognizedClientException");
      std::string_view target = req.target;
      size_t question = target.find('?');
      auth::SigV4Request signed_request;
      signed_request.method = req.method;
      signed_request.path = target.substr(0, question);
      signed_request.query =
          question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
      signed_request.headers.reserve(req.headers.size());
      for (const auto& h : req.headers) signed_request.headers.emplace_back(h.name, h.value);
      signed_request.body = req.body;
      auto who = auth::verify(signed_request, options_.credentials->lookup(),
                              std::chrono::system_clock::now());
      if (who.ok()) return std::nullopt;
      http::Response res = lambdaError(Error{ErrorCode::kUnauthenticated, who.failure().message},
                                       who.failure().error_type);
      res.status = who.failure().status;
      return res;
    }
    constexpr std::string_view kBearer = "Bearer ";
    if (header && header->starts_with(kBearer) &&
        constantTimeEquals(header->substr(kBearer.size()), options_.token))
      return std::nullopt;
    return lambdaError(
        Error{ErrorCode::kUnauthenticated,
              header ? std::string("The security token included in the request is invalid.")
                     : fmt::format("Missing Authentication Token: sign the request with an access "
                                   "key from `gust credentials create` (AWS CLI/SDKs), or send "
                                   "'Authorization: Bearer <token>' with the token in {}",
                                   options_.token_hint)},
        header ? "UnrecognizedClientException" : "MissingAuthenticationTokenException");
  }

  std::optional<http::Response> authenticate(const http::Request& req) const {
    auto header = req.header("authorization");
    auto challenge = [](http::Response res) {
      res.headers.push_back({"www-authenticate", "Bearer"});
      return res;
    };
    if (!header) {
      return challenge(errorResponse(
          ErrorCode::kUnauthenticated,
          fmt::format("missing bearer token: send 'Authorization: Bearer <token>'; the token is in "
                      "{} (the gust CLI reads it from there or from GUST_TOKEN)",
                      options_.token_hint)));
    }
    constexpr std::string_view kBearer = "Bearer ";
    if (!header->starts_with(kBearer) ||
        !constantTimeEquals(header->substr(kBearer.size()), options_.token)) {
      return challenge(errorResponse(
          ErrorCode::kUnauthenticated,
          fmt::format("invalid bearer token: use the token in {}", options_.token_hint)));
    }
    return std::nullopt;
  }

  // Runs blocking control-plane work off the I/O thread and responds with its result.
  void offload(http::Responder respond, std::function<http::Response()> work) {
    gateway::offload(control_pool_, std::move(respond), std::move(work));
  }

  void listFunctions(http::Request&&, const PathParams&, http::Responder respond) {
    offload(std::move(respond), [this] {
      auto records = functions_.list();
      if (!records) return errorResponse(records.error());
      return http::Response::json(200, control::functionsToJson(*records));
    });
  }

  void getFunction(http::Request&&, const PathParams& params, http::Responder respond) {
    offload(std::move(respond), [this, name = params.at("name")] {
      auto record = functions_.get(name);
      if (!record) return errorResponse(record.error());
      // How many provisioned instances are initialised: clients wait for it after a deploy.
      json::object o = json::parse(control::functionToJson(*record)).as_object();
      o["provisioned_concurrency_ready"] = engine_.provisionedReadyCount(record->name, "$LATEST");
      return http::Response::json(200, json::serialize(o));
    });
  }

  void deleteFunction(http::Request&&, const PathParams& params, http::Responder respond) {
    offload(std::move(respond), [this, name = params.at("name")] {
      if (auto st = functions_.remove(name); !st) return errorResponse(st.error());
      invoker_.invalidate(name);
      engine_.evict(name);
      http::Response res;
      res.status = 204;
      return res;
    });
  }

  void deployFunction(http::Request&& req, const PathParams&, http::Responder respond) {
    offload(std::move(respond), [this, body = std::move(req.body)] {
      auto request = control::parseDeployRequest(body);
      if (!request) return errorResponse(request.error());
      // gust.yaml's schedules are checked before anything is deployed, and applied after.
      std::optional<std::vector<events::ScheduleSpec>> schedules;
      if (request->config.schedules) {
        auto specs = manifestSchedules(request->config);
        if (!specs) return errorResponse(specs.error());
        schedules = std::move(*specs);
      }
      auto outcome = functions_.deploy(*request);
      if (!outcome) return errorResponse(outcome.error());
      if (schedules) {
        if (auto st = options_.scheduler->syncManifest(outcome->record.name, std::move(*schedules));
            !st) {
          Error e = st.error();
          e.message =
              fmt::format("deployed {}, but its schedules in gust.yaml were not applied: {}",
                          outcome->record.name, e.message);
          return errorResponse(e);
        }
      }
      // Instances of the previous revision are not reused (the engine compares revisions).
      if (auto st = lambda_.reconfigure(outcome->record.name); !st)
        spdlog::warn("deployed {} but cannot configure the engine for it: {}", outcome->record.name,
                     st.error().message);
      spdlog::info("deployed {} revision {} (code {})", outcome->record.name,
                   outcome->record.revision, outcome->record.code_sha256.substr(0, 12));
      return http::Response::json(outcome->created ? 201 : 200,
                                  control::functionToJson(outcome->record));
    });
  }

  // The schedules of a deploy request (gust.yaml), checked as the scheduler will store them.
  Result<std::vector<events::ScheduleSpec>> manifestSchedules(const control::FunctionConfig& c) {
    std::vector<events::ScheduleSpec> specs;
    if (c.schedules->empty() && !options_.scheduler) return specs;
    if (!options_.scheduler)
      return Error::unavailable(
          "this server cannot run schedules (it has no event queue); remove schedules from "
          "gust.yaml");
    for (const auto& m : *c.schedules) {
      events::ScheduleSpec spec{m.name,  m.expression,  c.name,   m.qualifier,
                                m.input, m.description, m.enabled};
      if (auto st = options_.scheduler->validate(spec, false); !st) {
        Error e = st.error();
        e.message = fmt::format("gust.yaml schedule \"{}\": {}", m.name, e.message);
        return e;
      }
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  // ---- Access keys ----------------------------------------------------------------------------

  std::optional<http::Response> noCredentials() const {
    if (options_.credentials) return std::nullopt;
    return errorResponse(ErrorCode::kUnavailable,
                         "this server was started without access keys; only its bearer token "
                         "works");
  }

  void createCredential(http::Request&& req, const PathParams&, http::Responder respond) {
    if (auto no = noCredentials()) return respond(std::move(*no));
    offload(std::move(respond), [this, body = std::move(req.body)] {
      std::string description;
      if (!body.empty()) {
        json::error_code ec;
        json::value v = json::parse(body, ec);
        const json::value* d =
            !ec && v.is_object() ? v.as_object().if_contains("description") : nullptr;
        bool only_description = !ec && v.is_object() && v.as_object().size() == (d ? 1 : 0);
        if (!only_description || (d && !d->is_string()))
          return errorResponse(ErrorCode::kInvalidArgument,
                               "the body must be a JSON object like {\"description\": \"ci\"} "
                               "(or empty)");
        if (d) description = std::string(d->as_string());
      }
      auto created = options_.credentials->create(description);
      if (!created) return errorResponse(created.error());
      spdlog::info("issued access key {}", created->access_key_id);
      json::object o{{"access_key_id", created->access_key_id},
                     {"secret_access_key", created->secret_access_key},
                     {"description", created->description},
                     {"created", created->created}};
      return http::Response::json(201, json::serialize(o));
    });
  }

  void listCredentials(http::Request&&, const PathParams&, http::Responder respond) {
    if (auto no = noCredentials()) return respond(std::move(*no));
    offload(std::move(respond), [this] {
      auto keys = options_.credentials->list();
      if (!keys) return errorResponse(keys.error());
      json::array arr;
      for (const auto& k : *keys)
        arr.push_back(json::object{{"access_key_id", k.access_key_id},
                                   {"description", k.description},
                                   {"created", k.created}});
      return http::Response::json(200, json::serialize(json::object{{"credentials", arr}}));
    });
  }

  void revokeCredential(http::Request&&, const PathParams& params, http::Responder respond) {
    if (auto no = noCredentials()) return respond(std::move(*no));
    offload(std::move(respond), [this, id = params.at("id")] {
      if (auto st = options_.credentials->revoke(id); !st) return errorResponse(st.error());
      spdlog::info("revoked access key {}", id);
      http::Response res;
      res.status = 204;
      return res;
    });
  }

  void getLogs(http::Request&& req, const PathParams& params, http::Responder respond) {
    offload(std::move(respond), [this, name = params.at("name"), query = std::move(req.query)] {
      auto params = parseQuery(query);
      if (!params) return errorResponse(params.error());
      store::LogQuery q;
      q.function = name;
      q.limit = kDefaultLogLimit;
      for (const auto& [key, value] : *params) {
        if (key == "since" || key == "until") {
          auto t = parseTimeMs(key, value);
          if (!t) return errorResponse(t.error());
          (key == "since" ? q.since_ms : q.until_ms) = *t;
        } else if (key == "request_id") {
          q.request_id = value;
        } else if (key == "version") {
          q.version = value;
        } else if (key == "after_id" || key == "limit") {
          int64_t n = 0;
          if (!parseInt64(value, n) || n < 0 || (key == "limit" && (n < 1 || n > kMaxLogLimit)))
            return errorResponse(
                ErrorCode::kInvalidArgument,
                fmt::format("{}: '{}' is not allowed; use {}", key, value.substr(0, 64),
                            key == "limit" ? fmt::format("1 to {}", kMaxLogLimit)
                                           : std::string("a log id from an earlier answer")));
          if (key == "limit")
            q.limit = static_cast<int>(n);
          else
            q.after_id = n;
        } else {
          return errorResponse(
              ErrorCode::kInvalidArgument,
              fmt::format("unknown query parameter '{}'; allowed: since, until, request_id, "
                          "version, after_id, limit",
                          key.substr(0, 64)));
        }
      }
      if (auto record = functions_.get(name); !record) return errorResponse(record.error());
      auto logs = functions_.queryLogs(q);
      if (!logs) return errorResponse(logs.error());
      json::array arr;
      int64_t last_id = q.after_id;
      for (const auto& r : *logs) {
        arr.push_back(json::object{{"id", r.id},
                                   {"function", r.function},
                                   {"version", r.version},
                                   {"request_id", r.request_id},
                                   {"timestamp", r.timestamp_ms},
                                   {"time", isoUtcMs(r.timestamp_ms)},
                                   {"message", r.text}});
        last_id = r.id;
      }
      json::object body{{"logs", std::move(arr)}, {"next_after_id", last_id}};
      return http::Response::json(200, json::serialize(body));
    });
  }

  GatewayOptions options_;
  control::FunctionService& functions_;
  engine::Engine& engine_;
  Router<Handler> router_;
  Invoker invoker_;          // constructed before the pool it posts to, destroyed after it
  ThreadPool control_pool_;  // its destructor drains tasks that use the members above
  LambdaApi lambda_;         // (its tasks keep what they use alive)
};

Gateway::Gateway(GatewayOptions options, control::FunctionService& functions,
                 engine::Engine& engine)
    : impl_(std::make_unique<Impl>(std::move(options), functions, engine)) {}

Gateway::~Gateway() = default;

Status Gateway::configureEngine() { return impl_->configureEngine(); }

Invoker& Gateway::invoker() { return impl_->invoker(); }

void Gateway::enqueueEvent(events::Event event, std::function<void(Result<std::string>)> done) {
  impl_->enqueueEvent(std::move(event), std::move(done));
}

http::Response Gateway::refusal(std::string_view target, int status, std::string_view message) {
  ErrorCode code = status == 400 ? ErrorCode::kInvalidArgument : ErrorCode::kTooLarge;
  Error error{code, std::string(message)};
  if (!isLambdaPath(target.substr(0, target.find('?')))) {
    http::Response res = errorResponse(error);
    res.status = status;
    return res;
  }
  http::Response res = lambdaError(
      error, status == 400 ? "InvalidRequestContentException" : "RequestTooLargeException");
  res.status = status;
  return res;
}

void Gateway::handleFromInstance(const engine::InstanceCaller& caller, http::Request&& request,
                                 http::Responder respond) {
  try {
    impl_->handleFromInstance(caller, std::move(request), std::move(respond));
  } catch (const std::exception& e) {
    spdlog::error("gateway: unexpected exception: {}", e.what());
    respond(lambdaError(Error::internal("internal error; see the server log")));
  }
}

void Gateway::handle(http::Request&& request, http::Responder respond) {
  try {
    impl_->handle(std::move(request), std::move(respond));
  } catch (const std::exception& e) {
    // Exceptions stop here; only a bug can get this far.
    spdlog::error("gateway: unexpected exception: {}", e.what());
    respond(errorResponse(ErrorCode::kInternal, "internal error; see the server log"));
  }
}

}  // namespace gust::gateway
