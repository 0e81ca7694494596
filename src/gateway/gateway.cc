#include "gateway/gateway.h"

#include <boost/json.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "common/thread_pool.h"
#include "control/function_config.h"
#include "control/function_service.h"
#include "engine/engine.h"
#include "gateway/router.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

constexpr size_t kLogTailBytes = 4096;  // Lambda's X-Amz-Log-Result: the last 4 KB

int statusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
  }
  return 500;
}

http::Response errorResponse(const Error& error) {
  json::object body{{"code", errorCodeName(error.code)}, {"message", error.message}};
  return http::Response::json(statusFor(error.code), json::serialize(body));
}

http::Response errorResponse(ErrorCode code, std::string message) {
  return errorResponse(Error{code, std::move(message)});
}

// Lambda's X-Amz-Log-Result: base64 of the last 4 KB of the invocation's log.
std::string logTail(std::string_view logs) {
  if (logs.size() > kLogTailBytes) logs = logs.substr(logs.size() - kLogTailBytes);
  return base64Encode(logs);
}

}  // namespace

class Gateway::Impl {
 public:
  using Handler = std::function<void(http::Request&&, const PathParams&, http::Responder)>;

  Impl(GatewayOptions options, control::FunctionService& functions, engine::Engine& engine)
      : options_(std::move(options)),
        functions_(functions),
        engine_(engine),
        control_pool_(options_.control_threads) {
    router_.add("GET", "/healthz", [](http::Request&&, const PathParams&, http::Responder r) {
      r(http::Response::json(200, R"({"status":"ok"})"));
    });
    router_.add("GET", "/api/v1/functions", bind(&Impl::listFunctions));
    router_.add("POST", "/api/v1/functions", bind(&Impl::deployFunction));
    router_.add("GET", "/api/v1/functions/{name}", bind(&Impl::getFunction));
    router_.add("DELETE", "/api/v1/functions/{name}", bind(&Impl::deleteFunction));
    router_.add("POST", "/api/v1/functions/{name}/invoke", bind(&Impl::invoke));
  }

  void handle(http::Request&& req, http::Responder respond) {
    auto match = router_.match(req.method, req.path);
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

 private:
  Handler bind(void (Impl::*method)(http::Request&&, const PathParams&, http::Responder)) {
    return [this, method](http::Request&& req, const PathParams& params, http::Responder r) {
      (this->*method)(std::move(req), params, std::move(r));
    };
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
    control_pool_.post([respond = std::move(respond), work = std::move(work)] { respond(work()); });
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
      return http::Response::json(200, control::functionToJson(*record));
    });
  }

  void deleteFunction(http::Request&&, const PathParams& params, http::Responder respond) {
    offload(std::move(respond), [this, name = params.at("name")] {
      if (auto st = functions_.remove(name); !st) return errorResponse(st.error());
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
      auto outcome = functions_.deploy(*request);
      if (!outcome) return errorResponse(outcome.error());
      if (!outcome->created) engine_.evict(outcome->record.name);
      spdlog::info("deployed {} revision {} (code {})", outcome->record.name,
                   outcome->record.revision, outcome->record.code_sha256.substr(0, 12));
      return http::Response::json(outcome->created ? 201 : 200,
                                  control::functionToJson(outcome->record));
    });
  }

  void invoke(http::Request&& req, const PathParams& params, http::Responder respond) {
    if (req.body.size() > options_.max_sync_payload_bytes) {
      return respond(errorResponse(
          ErrorCode::kTooLarge,
          fmt::format("request payload is {} bytes; the limit for synchronous invocations is {} "
                      "bytes",
                      req.body.size(), options_.max_sync_payload_bytes)));
    }
    if (req.body.empty()) req.body = "{}";  // Lambda invokes with an empty object
    json::error_code ec;
    json::parse(req.body, ec);
    if (ec) {
      return respond(errorResponse(
          ErrorCode::kInvalidArgument,
          fmt::format("could not parse the request payload as JSON ({}); send a JSON document, "
                      "e.g. {{\"name\": \"world\"}}",
                      ec.message())));
    }
    bool tail = req.header("x-amz-log-type") == "Tail";
    offloadInvoke(params.at("name"), std::move(req.body), tail, std::move(respond));
  }

  void offloadInvoke(std::string name, std::string payload, bool tail, http::Responder respond) {
    control_pool_.post([this, name = std::move(name), payload = std::move(payload), tail,
                        respond = std::move(respond)]() mutable {
      auto spec = resolve(name);
      if (!spec) return respond(errorResponse(spec.error()));
      engine::InvokeRequest request;
      request.function = std::move(*spec);
      request.payload = std::move(payload);
      request.request_id = uuid4();
      engine_.invoke(std::move(request),
                     [tail, respond = std::move(respond)](Result<engine::InvokeResult> result) {
                       if (!result) return respond(errorResponse(result.error()));
                       http::Response res = http::Response::json(200, std::move(result->payload));
                       res.headers.push_back({"x-amzn-requestid", result->request_id});
                       res.headers.push_back({"x-amz-executed-version", result->executed_version});
                       if (result->function_error)
                         res.headers.push_back({"x-amz-function-error", "Unhandled"});
                       if (tail) res.headers.push_back({"x-amz-log-result", logTail(result->logs)});
                       respond(std::move(res));
                     });
    });
  }

  Result<std::shared_ptr<const engine::FunctionSpec>> resolve(const std::string& name) {
    GUST_ASSIGN_OR_RETURN(auto record, functions_.get(name));
    GUST_ASSIGN_OR_RETURN(auto code_dir, functions_.codeDir(record));
    auto spec = std::make_shared<engine::FunctionSpec>();
    spec->name = record.name;
    spec->runtime = record.runtime;
    spec->handler = record.handler;
    spec->memory_mb = record.memory_mb;
    spec->timeout_s = record.timeout_s;
    spec->environment = record.environment;
    spec->code_dir = std::move(code_dir);
    spec->code_sha256 = record.code_sha256;
    spec->revision = record.revision;
    return std::shared_ptr<const engine::FunctionSpec>(std::move(spec));
  }

  GatewayOptions options_;
  control::FunctionService& functions_;
  engine::Engine& engine_;
  Router<Handler> router_;
  ThreadPool control_pool_;  // last: its destructor drains tasks that use the members above
};

Gateway::Gateway(GatewayOptions options, control::FunctionService& functions,
                 engine::Engine& engine)
    : impl_(std::make_unique<Impl>(std::move(options), functions, engine)) {}

Gateway::~Gateway() = default;

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
