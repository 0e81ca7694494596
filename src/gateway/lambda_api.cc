// The Lambda REST API. Each handler checks its input on the I/O thread where that is cheap
// (headers, sizes) and does the rest — SQLite, code extraction, the engine — on the control pool.
#include "gateway/lambda_api.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "common/thread_pool.h"
#include "control/function_service.h"
#include "control/zip.h"
#include "events/queue.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

constexpr size_t kMaxClientContextBytes = 3583;  // Lambda's limit on the decoded context
constexpr int kDefaultMaxItems = 50;
constexpr int kMaxMaxItems = 10000;

struct ErrorShape {
  int status;
  std::string_view type;
};

ErrorShape shapeOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return {400, "InvalidParameterValueException"};
    case ErrorCode::kNotFound:
      return {404, "ResourceNotFoundException"};
    case ErrorCode::kAlreadyExists:
      return {409, "ResourceConflictException"};
    case ErrorCode::kFailedPrecondition:
      return {412, "PreconditionFailedException"};
    case ErrorCode::kTooLarge:
      return {413, "RequestTooLargeException"};
    case ErrorCode::kResourceExhausted:
      return {429, "TooManyRequestsException"};
    case ErrorCode::kUnauthenticated:
      return {403, "UnrecognizedClientException"};
    case ErrorCode::kPermissionDenied:
      return {403, "AccessDeniedException"};
    case ErrorCode::kUnavailable:
      return {503, "ServiceException"};
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kInternal:
      return {500, "ServiceException"};
  }
  return {500, "ServiceException"};
}

http::Response jsonResponse(int status, const json::value& body) {
  return http::Response::json(status, json::serialize(body));
}

http::Response noContent() {
  http::Response res;
  res.status = 204;
  return res;
}

// Lambda's malformed-body error (a different type from a bad value).
http::Response badRequestBody(std::string_view body) {
  json::error_code ec;
  json::parse(body, ec);
  return lambdaError(
      Error::invalid(fmt::format("Could not parse request body into json: {}; send a JSON object",
                                 ec ? ec.message() : std::string("expected an object"))),
      "InvalidRequestContentException");
}

bool isJsonObject(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  return !ec && v.is_object();
}

bool isVersionNumber(std::string_view s) {
  return !s.empty() && s.size() <= 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// MaxItems and Marker of a List* call.
struct Page {
  int max_items = kDefaultMaxItems;
  std::string marker;
};

Result<Page> parsePage(const std::map<std::string, std::string>& query) {
  Page page;
  if (auto it = query.find("MaxItems"); it != query.end()) {
    int n = 0;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || n < 1 ||
        n > kMaxMaxItems)
      return Error::invalid(fmt::format("MaxItems: '{}' is not allowed; allowed: 1 to {}",
                                        it->second.substr(0, 32), kMaxMaxItems));
    page.max_items = n;
  }
  if (auto it = query.find("Marker"); it != query.end()) page.marker = it->second;
  return page;
}

// Items after the marker (items are ordered and `keyOf` gives the marker of each), at most
// max_items of them, and the marker of the next page (empty when this is the last page).
template <class T, class KeyOf>
std::pair<std::vector<T>, std::string> paginate(std::vector<T> items, const Page& page,
                                                KeyOf keyOf) {
  auto first = items.begin();
  if (!page.marker.empty()) {
    first = std::find_if(items.begin(), items.end(),
                         [&](const T& item) { return keyOf(item) == page.marker; });
    first = first == items.end() ? items.end() : std::next(first);
  }
  std::vector<T> out;
  std::string next;
  for (auto it = first; it != items.end(); ++it) {
    if (static_cast<int>(out.size()) == page.max_items) {
      next = keyOf(out.back());
      break;
    }
    out.push_back(std::move(*it));
  }
  return {std::move(out), std::move(next)};
}

}  // namespace

http::Response lambdaError(const Error& error, std::string_view type) {
  ErrorShape shape = shapeOf(error.code);
  if (!type.empty()) shape.type = type;
  // "code" is Gust's own error code, as in the control API's errors (the gust CLI reads it).
  json::object body{{"Type", shape.status >= 500 ? "Service" : "User"},
                    {"message", error.message},
                    {"code", errorCodeName(error.code)}};
  http::Response res = http::Response::json(shape.status, json::serialize(body));
  res.headers.push_back({"x-amzn-errortype", std::string(shape.type)});
  res.headers.push_back({"x-amzn-requestid", uuid4()});
  return res;
}

class LambdaApi::Impl : public std::enable_shared_from_this<LambdaApi::Impl> {
 public:
  Impl(LambdaApiOptions options, control::FunctionService& functions, Invoker& invoker,
       ThreadPool& pool)
      : options_(std::move(options)),
        functions_(functions),
        invoker_(invoker),
        engine_(invoker.engine()),
        pool_(pool) {}

  void addRoutes(Router<Handler>& r) {
    const std::string fn = "/2015-03-31/functions/{fn}";
    r.add("POST", "/2015-03-31/functions", control(&Impl::createFunction));
    r.add("POST", "/2015-03-31/functions/", control(&Impl::createFunction));
    r.add("GET", "/2015-03-31/functions", control(&Impl::listFunctions));
    r.add("GET", "/2015-03-31/functions/", control(&Impl::listFunctions));
    r.add("GET", fn, control(&Impl::getFunction));
    r.add("DELETE", fn, control(&Impl::deleteFunction));
    r.add("GET", fn + "/configuration", control(&Impl::getConfiguration));
    r.add("PUT", fn + "/configuration", control(&Impl::updateConfiguration));
    r.add("PUT", fn + "/code", control(&Impl::updateCode));
    r.add("POST", fn + "/versions", control(&Impl::publishVersion));
    r.add("GET", fn + "/versions", control(&Impl::listVersions));
    r.add("POST", fn + "/aliases", control(&Impl::createAlias));
    r.add("GET", fn + "/aliases", control(&Impl::listAliases));
    r.add("GET", fn + "/aliases/{alias}", control(&Impl::getAlias));
    r.add("PUT", fn + "/aliases/{alias}", control(&Impl::updateAlias));
    r.add("DELETE", fn + "/aliases/{alias}", control(&Impl::deleteAlias));
    r.add("PUT", "/2017-10-31/functions/{fn}/concurrency", control(&Impl::putReserved));
    r.add("DELETE", "/2017-10-31/functions/{fn}/concurrency", control(&Impl::deleteReserved));
    r.add("GET", "/2019-09-30/functions/{fn}/concurrency", control(&Impl::getReserved));
    const std::string pc = "/2019-09-30/functions/{fn}/provisioned-concurrency";
    r.add("PUT", pc, control(&Impl::putProvisioned));
    r.add("GET", pc, control(&Impl::getProvisioned));
    r.add("DELETE", pc, control(&Impl::deleteProvisioned));
    r.add("GET", "/gust/code/{sha}", control(&Impl::downloadCode));
    r.add("GET", "/2016-08-19/account-settings", control(&Impl::accountSettings));
    r.add("GET", "/2016-08-19/account-settings/", control(&Impl::accountSettings));
    auto self = shared_from_this();
    Handler invoke = [self](http::Request&& req, const PathParams& params, http::Responder res) {
      PathParams p = params;
      p.emplace("name", params.at("fn"));
      self->invoke(std::move(req), p, std::move(res));
    };
    r.add("POST", fn + "/invocations", invoke);
  }

  // ---- Invoke ---------------------------------------------------------------------------------

  void invoke(http::Request&& req, const PathParams& params, http::Responder respond,
              int cascade_depth = 0) {
    auto query = parseQuery(req.query);
    if (!query) return respond(lambdaError(query.error()));
    std::string type(req.header("x-amz-invocation-type").value_or("RequestResponse"));
    if (type != "RequestResponse" && type != "Event" && type != "DryRun")
      return respond(lambdaError(Error::invalid(fmt::format(
          "X-Amz-Invocation-Type: '{}' is not allowed; allowed: RequestResponse, Event, DryRun",
          type.substr(0, 32)))));
    std::string log_type(req.header("x-amz-log-type").value_or("None"));
    if (log_type != "None" && log_type != "Tail")
      return respond(lambdaError(Error::invalid(fmt::format(
          "X-Amz-Log-Type: '{}' is not allowed; allowed: None, Tail", log_type.substr(0, 32)))));
    size_t limit =
        type == "Event" ? options_.max_async_payload_bytes : options_.max_sync_payload_bytes;
    if (req.body.size() > limit)
      return respond(lambdaError(
          Error::tooLarge(fmt::format("Request must be smaller than {} bytes for the Invoke "
                                      "operation ({} invocations); this one is {} bytes",
                                      limit, type, req.body.size())),
          "RequestTooLargeException"));
    if (req.body.empty()) req.body = "{}";  // Lambda invokes with an empty object
    json::error_code ec;
    json::parse(req.body, ec);
    if (ec)
      return respond(lambdaError(
          Error::invalid(fmt::format("Could not parse request body into json: {}; send a JSON "
                                     "document, e.g. {{\"name\": \"world\"}}",
                                     ec.message())),
          "InvalidRequestContentException"));
    std::string client_context;
    if (auto header = req.header("x-amz-client-context")) {
      bool ok =
          base64Decode(*header, client_context) && client_context.size() <= kMaxClientContextBytes;
      json::value parsed = ok ? json::parse(client_context, ec) : json::value();
      if (!ok || ec || !parsed.is_object())
        return respond(lambdaError(Error::invalid(fmt::format(
            "X-Amz-Client-Context: must be a base64-encoded JSON object of at most {} bytes",
            kMaxClientContextBytes))));
    }
    std::optional<std::string> qualifier;
    if (auto it = query->find("Qualifier"); it != query->end()) qualifier = it->second;
    auto ref = lambda::parseFunctionRef(params.at("name"), qualifier);
    if (!ref) return respond(lambdaError(ref.error()));

    if (type == "Event") {
      events::Event event;
      event.function = ref->name;
      event.qualifier = ref->qualifier;
      event.payload = std::move(req.body);
      event.client_context = std::move(client_context);
      event.trace_id = std::string(req.header("x-amzn-trace-id").value_or(""));
      event.cascade_depth = cascade_depth;
      return enqueueEvent(std::move(event), [respond = std::move(respond)](Result<std::string> id) {
        if (!id) return respond(lambdaError(id.error()));
        http::Response res;
        res.status = 202;
        res.headers.push_back({"x-amzn-requestid", std::move(*id)});
        respond(std::move(res));
      });
    }

    engine::InvokeRequest request;
    request.payload = std::move(req.body);
    request.request_id = uuid4();
    request.client_context = std::move(client_context);
    request.trace_id = std::string(req.header("x-amzn-trace-id").value_or(""));
    request.invoked_qualifier = ref->qualifier;
    request.cascade_depth = cascade_depth;
    std::string name = ref->name;
    invoker_.resolveAsync(
        name, ref->qualifier,
        [self = shared_from_this(), type = std::move(type), tail = log_type == "Tail",
         request = std::move(request), respond = std::move(respond)](
            Result<std::shared_ptr<const engine::FunctionSpec>> spec) mutable {
          if (!spec) return respond(lambdaError(spec.error()));
          request.function = std::move(*spec);
          if (type == "DryRun") return respond(noContent());
          self->engine_.invoke(std::move(request), [tail, respond = std::move(respond)](
                                                       Result<engine::InvokeResult> result) {
            if (!result) return respond(invokeError(result.error()));
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

  void enqueueEvent(events::Event event, std::function<void(Result<std::string>)> done) {
    if (!options_.events)
      return done(Error::unavailable(
          "this server has no event queue; asynchronous invocations are not available"));
    // Lambda answers an Event invocation of a missing function or qualifier with 404. The
    // invoker's cache makes this check free for a function invoked before.
    std::string name = event.function;
    std::string qualifier = event.qualifier;
    invoker_.resolveAsync(
        name, qualifier,
        [self = shared_from_this(), event = std::move(event),
         done = std::move(done)](Result<std::shared_ptr<const engine::FunctionSpec>> spec) mutable {
          if (!spec) return done(spec.error());
          if (event.id.empty()) event.id = uuid4();
          std::string id = event.id;
          self->options_.events->enqueue(std::move(event),
                                         [id = std::move(id), done = std::move(done)](Status st) {
                                           if (!st) return done(st.error());
                                           done(id);
                                         });
        });
  }

  // A throttled invocation keeps Lambda's Reason field.
  static http::Response invokeError(const Error& error) {
    auto reason = engine::throttleReason(error);
    if (reason.empty()) return lambdaError(error);
    json::object body{{"Type", "User"},
                      {"message", "Rate Exceeded."},
                      {"Reason", reason},
                      {"code", errorCodeName(error.code)},
                      {"detail", error.message}};
    http::Response res = http::Response::json(429, json::serialize(body));
    res.headers.push_back({"x-amzn-errortype", "TooManyRequestsException"});
    return res;
  }

  // ---- Engine configuration -------------------------------------------------------------------

  // Instances to keep initialised per version: the provisioned configs of the version itself
  // and of the aliases pointing at it ($LATEST's comes from its own configuration).
  Result<std::map<std::string, int>> provisionedByVersion(std::string_view name) {
    GUST_ASSIGN_OR_RETURN(auto configs, functions_.listProvisionedConfigs(name));
    std::map<std::string, int> out;
    if (configs.empty()) return out;
    GUST_ASSIGN_OR_RETURN(auto aliases, functions_.listAliases(name));
    for (const auto& config : configs) {
      std::string version = config.qualifier;
      for (const auto& alias : aliases)
        if (alias.name == config.qualifier) version = alias.function_version;
      out[version] += config.requested;
    }
    return out;
  }

  // Tells the engine the function's reservation and, for $LATEST and every published version,
  // how many instances to keep initialised. Call after any change to them.
  Status reconfigure(std::string_view name) {
    invoker_.invalidate(name);
    GUST_ASSIGN_OR_RETURN(auto versions, functions_.listVersions(name));
    GUST_ASSIGN_OR_RETURN(auto provisioned, provisionedByVersion(name));
    std::optional<int> reserved = versions.front().reserved_concurrency;  // $LATEST's
    Status status = okStatus();
    for (const auto& record : versions) {
      int count = record.version == "$LATEST" ? record.provisioned_concurrency
                                              : provisioned[record.version];
      auto spec = specFor(functions_, record, reserved, count);
      if (!spec) {
        spdlog::warn("cannot configure {} version {}: {}", record.name, record.version,
                     spec.error().message);
        status = spec.error();
        continue;
      }
      engine_.configure(std::move(*spec));
    }
    return status;
  }

  Status configureEngine() {
    GUST_ASSIGN_OR_RETURN(auto records, functions_.list());
    Status status = okStatus();
    for (const auto& record : records)
      if (auto st = reconfigure(record.name); !st) status = st;
    return status;
  }

  // After a change of the function's configuration: a failure to tell the engine is logged,
  // not returned, because the change itself is stored.
  void reconfigureOrWarn(std::string_view name) {
    if (auto st = reconfigure(name); !st)
      spdlog::warn("{} changed but the engine could not be configured for it: {}", name,
                   st.error().message);
  }

  // ---- Functions ------------------------------------------------------------------------------

  http::Response createFunction(const http::Request& req, const PathParams&) {
    if (!isJsonObject(req.body)) return badRequestBody(req.body);
    auto in = lambda::parseCreateFunction(req.body);
    if (!in) return lambdaError(in.error());
    auto record = functions_.create(in->deploy, in->role, in->publish);
    if (!record) return lambdaError(record.error());
    reconfigureOrWarn(record->name);
    spdlog::info("created {} (code {})", record->name, record->code_sha256.substr(0, 12));
    return jsonResponse(201, lambda::functionConfiguration(options_.account, *record));
  }

  http::Response listFunctions(const http::Request& req, const PathParams&) {
    auto query = parseQuery(req.query);
    if (!query) return lambdaError(query.error());
    auto page = parsePage(*query);
    if (!page) return lambdaError(page.error());
    bool all_versions = false;
    if (auto it = query->find("FunctionVersion"); it != query->end()) {
      if (it->second != "ALL")
        return lambdaError(Error::invalid("FunctionVersion: only ALL is allowed"));
      all_versions = true;
    }
    auto records = functions_.list();
    if (!records) return lambdaError(records.error());
    if (all_versions) {
      std::vector<store::FunctionRecord> expanded;
      for (const auto& latest : *records) {
        auto versions = functions_.listVersions(latest.name);
        if (!versions) continue;  // deleted meanwhile
        for (auto& v : *versions) expanded.push_back(std::move(v));
      }
      *records = std::move(expanded);
    }
    auto [items, next] = paginate(std::move(*records), *page, [](const store::FunctionRecord& r) {
      return r.version == "$LATEST" ? r.name : r.name + ":" + r.version;
    });
    json::array functions;
    for (const auto& r : items)
      functions.push_back(lambda::functionConfiguration(options_.account, r, all_versions));
    json::object body{{"Functions", std::move(functions)}};
    if (!next.empty()) body["NextMarker"] = next;
    return jsonResponse(200, body);
  }

  // The version a read names: $LATEST, a number, or an alias's primary version.
  Result<store::FunctionRecord> lookupVersion(const lambda::FunctionRef& ref) {
    if (ref.qualifier.empty() || ref.qualifier == "$LATEST" || isVersionNumber(ref.qualifier))
      return functions_.getVersion(ref.name, ref.qualifier.empty() ? "$LATEST" : ref.qualifier);
    GUST_ASSIGN_OR_RETURN(store::AliasRecord alias, functions_.getAlias(ref.name, ref.qualifier));
    GUST_ASSIGN_OR_RETURN(store::FunctionRecord record,
                          functions_.getVersion(ref.name, alias.function_version));
    return record;
  }

  Result<lambda::FunctionRef> refOf(const http::Request& req, const PathParams& params) {
    GUST_ASSIGN_OR_RETURN(auto query, parseQuery(req.query));
    std::optional<std::string> qualifier;
    if (auto it = query.find("Qualifier"); it != query.end()) qualifier = it->second;
    return lambda::parseFunctionRef(params.at("fn"), qualifier);
  }

  // The plain function name of a path whose operation takes no qualifier.
  Result<std::string> unqualifiedName(const http::Request& req, const PathParams& params) {
    GUST_ASSIGN_OR_RETURN(auto ref, refOf(req, params));
    if (!ref.qualifier.empty())
      return Error::invalid(
          fmt::format("this operation takes an unqualified function name; remove ':{}' / Qualifier",
                      ref.qualifier));
    return ref.name;
  }

  http::Response getFunction(const http::Request& req, const PathParams& params) {
    auto ref = refOf(req, params);
    if (!ref) return lambdaError(ref.error());
    auto record = lookupVersion(*ref);
    if (!record) return lambdaError(record.error());
    json::object body{{"Configuration", lambda::functionConfiguration(options_.account, *record)},
                      {"Code", codeLocation(req, record->code_sha256)},
                      {"Tags", json::object{}}};
    if (auto latest = functions_.get(ref->name); latest && latest->reserved_concurrency)
      body["Concurrency"] =
          json::object{{"ReservedConcurrentExecutions", *latest->reserved_concurrency}};
    return jsonResponse(200, body);
  }

  // Code.Location: a link to download the zip, signed and valid for link_lifetime.
  json::object codeLocation(const http::Request& req, const std::string& sha256) {
    json::object code{{"RepositoryType", "S3"}};
    auto host = req.header("host");
    if (!host || host->empty() || options_.link_key.empty()) return code;
    int64_t expires =
        std::chrono::duration_cast<std::chrono::seconds>(
            (std::chrono::system_clock::now() + options_.link_lifetime).time_since_epoch())
            .count();
    code["Location"] =
        fmt::format("http://{}/gust/code/{}?expires={}&signature={}", *host, sha256, expires,
                    hmacSha256Hex(options_.link_key, fmt::format("{}\n{}", sha256, expires)));
    return code;
  }

  http::Response downloadCode(const http::Request& req, const PathParams& params) {
    auto query = parseQuery(req.query);
    const std::string& sha = params.at("sha");
    auto denied = [] {
      return http::Response::json(
          403, R"({"code":"PermissionDenied","message":"this code link is invalid or expired; )"
               R"(ask GetFunction for a fresh one"})");
    };
    if (!query || !query->contains("expires") || !query->contains("signature") ||
        options_.link_key.empty())
      return denied();
    int64_t expires = 0;
    const std::string& e = query->at("expires");
    auto [end, ec] = std::from_chars(e.data(), e.data() + e.size(), expires);
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::string want = hmacSha256Hex(options_.link_key, fmt::format("{}\n{}", sha, e));
    if (ec != std::errc() || end != e.data() + e.size() || expires < now ||
        !constantTimeEquals(want, query->at("signature")))
      return denied();
    auto zip = functions_.codeZip(sha);
    if (!zip) return lambdaError(zip.error());
    http::Response res;
    res.status = 200;
    res.headers.push_back({"content-type", "application/zip"});
    res.body = std::move(*zip);
    return res;
  }

  http::Response getConfiguration(const http::Request& req, const PathParams& params) {
    auto ref = refOf(req, params);
    if (!ref) return lambdaError(ref.error());
    auto record = lookupVersion(*ref);
    if (!record) return lambdaError(record.error());
    return jsonResponse(200, lambda::functionConfiguration(options_.account, *record));
  }

  http::Response deleteFunction(const http::Request& req, const PathParams& params) {
    auto ref = refOf(req, params);
    if (!ref) return lambdaError(ref.error());
    if (ref->qualifier.empty()) {
      if (auto st = functions_.remove(ref->name); !st) return lambdaError(st.error());
      invoker_.invalidate(ref->name);
      engine_.evict(ref->name);
      spdlog::info("deleted {}", ref->name);
      return noContent();
    }
    if (ref->qualifier == "$LATEST")
      return lambdaError(Error::invalid(
          "$LATEST version cannot be deleted without deleting the function; omit the qualifier"));
    if (!isVersionNumber(ref->qualifier))
      return lambdaError(Error::invalid(fmt::format(
          "'{}' is an alias, not a version: delete it with DeleteAlias", ref->qualifier)));
    if (auto st = functions_.deleteVersion(ref->name, ref->qualifier); !st)
      return lambdaError(st.error());
    reconfigureOrWarn(ref->name);
    return noContent();
  }

  http::Response updateConfiguration(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    if (!isJsonObject(req.body)) return badRequestBody(req.body);
    auto update = lambda::parseUpdateConfiguration(req.body);
    if (!update) return lambdaError(update.error());
    auto record = functions_.updateConfiguration(
        *name,
        [&](control::FunctionConfig& config) {
          lambda::applyUpdate(*update, config);
          if (update->role) config.role = *update->role;
          return okStatus();
        },
        update->revision_id);
    if (!record) return lambdaError(record.error());
    reconfigureOrWarn(*name);
    return jsonResponse(200, lambda::functionConfiguration(options_.account, *record));
  }

  http::Response updateCode(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    if (!isJsonObject(req.body)) return badRequestBody(req.body);
    auto update = lambda::parseUpdateCode(req.body);
    if (!update) return lambdaError(update.error());
    if (update->dry_run) {
      auto record = functions_.get(*name);
      if (!record) return lambdaError(record.error());
      if (!update->revision_id.empty() && update->revision_id != record->revision_id)
        return lambdaError(
            {ErrorCode::kFailedPrecondition,
             "The Revision Id provided does not match the latest Revision Id; read it again"});
      record->code_sha256 = sha256Hex(update->zip);
      record->code_size = static_cast<int64_t>(update->zip.size());
      return jsonResponse(200, lambda::functionConfiguration(options_.account, *record));
    }
    auto record = functions_.updateCode(*name, update->zip, update->revision_id, update->publish);
    if (!record) return lambdaError(record.error());
    reconfigureOrWarn(*name);
    spdlog::info("updated the code of {} ({})", *name, record->code_sha256.substr(0, 12));
    return jsonResponse(200, lambda::functionConfiguration(options_.account, *record));
  }

  // ---- Versions -------------------------------------------------------------------------------

  http::Response publishVersion(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    if (!req.body.empty() && !isJsonObject(req.body)) return badRequestBody(req.body);
    auto in = lambda::parsePublishVersion(req.body);
    if (!in) return lambdaError(in.error());
    auto record =
        functions_.publishVersion(*name, in->description, in->code_sha256_hex, in->revision_id);
    if (!record && record.error().code == ErrorCode::kFailedPrecondition &&
        !in->code_sha256_hex.empty()) {
      // Say it in the client's terms: CodeSha256 is base64 on this API.
      auto latest = functions_.get(*name);
      if (latest && latest->code_sha256 != in->code_sha256_hex)
        return lambdaError(
            {ErrorCode::kFailedPrecondition,
             fmt::format("CodeSha256 {} does not match the function's current code ({}); read "
                         "it again with GetFunctionConfiguration, or omit CodeSha256",
                         lambda::hexToBase64(in->code_sha256_hex),
                         lambda::hexToBase64(latest->code_sha256))});
    }
    if (!record) return lambdaError(record.error());
    spdlog::info("published {} version {}", *name, record->version);
    return jsonResponse(201, lambda::functionConfiguration(options_.account, *record));
  }

  http::Response listVersions(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    auto query = parseQuery(req.query);
    if (!query) return lambdaError(query.error());
    auto page = parsePage(*query);
    if (!page) return lambdaError(page.error());
    auto versions = functions_.listVersions(*name);
    if (!versions) return lambdaError(versions.error());
    auto [items, next] = paginate(std::move(*versions), *page,
                                  [](const store::FunctionRecord& r) { return r.version; });
    json::array out;
    for (const auto& r : items)
      out.push_back(lambda::functionConfiguration(options_.account, r, true));
    json::object body{{"Versions", std::move(out)}};
    if (!next.empty()) body["NextMarker"] = next;
    return jsonResponse(200, body);
  }

  // ---- Aliases --------------------------------------------------------------------------------

  http::Response createAlias(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    if (!isJsonObject(req.body)) return badRequestBody(req.body);
    auto in = lambda::parseAlias(req.body, true);
    if (!in) return lambdaError(in.error());
    store::AliasRecord alias;
    alias.function = *name;
    alias.name = in->name;
    alias.function_version = in->function_version;
    alias.description = in->description;
    alias.additional_weights = in->weights;
    auto created = functions_.createAlias(std::move(alias));
    if (!created) return lambdaError(created.error());
    return jsonResponse(201, lambda::aliasConfiguration(options_.account, *created));
  }

  http::Response listAliases(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    auto query = parseQuery(req.query);
    if (!query) return lambdaError(query.error());
    auto page = parsePage(*query);
    if (!page) return lambdaError(page.error());
    auto aliases = functions_.listAliases(*name);
    if (!aliases) return lambdaError(aliases.error());
    if (auto it = query->find("FunctionVersion"); it != query->end()) {
      std::erase_if(*aliases,
                    [&](const store::AliasRecord& a) { return a.function_version != it->second; });
    }
    auto [items, next] =
        paginate(std::move(*aliases), *page, [](const store::AliasRecord& a) { return a.name; });
    json::array out;
    for (const auto& a : items) out.push_back(lambda::aliasConfiguration(options_.account, a));
    json::object body{{"Aliases", std::move(out)}};
    if (!next.empty()) body["NextMarker"] = next;
    return jsonResponse(200, body);
  }

  http::Response getAlias(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    auto alias = functions_.getAlias(*name, params.at("alias"));
    if (!alias) return lambdaError(alias.error());
    return jsonResponse(200, lambda::aliasConfiguration(options_.account, *alias));
  }

  http::Response updateAlias(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    if (!isJsonObject(req.body)) return badRequestBody(req.body);
    auto in = lambda::parseAlias(req.body, false);
    if (!in) return lambdaError(in.error());
    auto alias = functions_.getAlias(*name, params.at("alias"));
    if (!alias) return lambdaError(alias.error());
    if (in->has_version) alias->function_version = in->function_version;
    if (in->has_description) alias->description = in->description;
    if (in->has_routing) alias->additional_weights = in->weights;
    auto updated = functions_.updateAlias(std::move(*alias), in->revision_id);
    if (!updated) return lambdaError(updated.error());
    reconfigureOrWarn(*name);  // provisioned instances follow the alias
    return jsonResponse(200, lambda::aliasConfiguration(options_.account, *updated));
  }

  http::Response deleteAlias(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    if (auto st = functions_.deleteAlias(*name, params.at("alias")); !st)
      return lambdaError(st.error());
    // The alias's provisioned config goes with it.
    if (auto st = functions_.deleteProvisionedConfig(*name, params.at("alias"));
        !st && st.error().code != ErrorCode::kNotFound)
      spdlog::warn("deleted alias {}:{} but not its provisioned config: {}", *name,
                   params.at("alias"), st.error().message);
    reconfigureOrWarn(*name);
    return noContent();
  }

  // ---- Concurrency ----------------------------------------------------------------------------

  http::Response putReserved(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    if (!isJsonObject(req.body)) return badRequestBody(req.body);
    auto n = lambda::parseReservedConcurrency(req.body);
    if (!n) return lambdaError(n.error());
    auto record = functions_.setReservedConcurrency(*name, *n);
    if (!record) return lambdaError(record.error());
    reconfigureOrWarn(*name);
    return jsonResponse(200, json::object{{"ReservedConcurrentExecutions", *n}});
  }

  http::Response deleteReserved(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    auto record = functions_.setReservedConcurrency(*name, std::nullopt);
    if (!record) return lambdaError(record.error());
    reconfigureOrWarn(*name);
    return noContent();
  }

  http::Response getReserved(const http::Request& req, const PathParams& params) {
    auto name = unqualifiedName(req, params);
    if (!name) return lambdaError(name.error());
    auto record = functions_.get(*name);
    if (!record) return lambdaError(record.error());
    json::object body;
    if (record->reserved_concurrency)
      body["ReservedConcurrentExecutions"] = *record->reserved_concurrency;
    return jsonResponse(200, body);
  }

  json::object provisionedStatus(const store::ProvisionedConfigRecord& config,
                                 const std::string& version) {
    int ready = std::min(config.requested, engine_.provisionedReadyCount(config.function, version));
    json::object o{{"RequestedProvisionedConcurrentExecutions", config.requested},
                   {"AvailableProvisionedConcurrentExecutions", ready},
                   {"AllocatedProvisionedConcurrentExecutions", ready},
                   {"Status", ready >= config.requested ? "READY" : "IN_PROGRESS"},
                   {"LastModified", config.last_modified}};
    return o;
  }

  // The version a provisioned config's qualifier currently means.
  std::string versionOf(const store::ProvisionedConfigRecord& config) {
    if (isVersionNumber(config.qualifier)) return config.qualifier;
    auto alias = functions_.getAlias(config.function, config.qualifier);
    return alias ? alias->function_version : config.qualifier;
  }

  Result<lambda::FunctionRef> provisionedRef(const http::Request& req, const PathParams& params) {
    GUST_ASSIGN_OR_RETURN(auto ref, refOf(req, params));
    if (ref.qualifier.empty())
      return Error::invalid(
          "Qualifier: is required; provisioned concurrency is set on a published version or an "
          "alias");
    return ref;
  }

  http::Response putProvisioned(const http::Request& req, const PathParams& params) {
    auto ref = provisionedRef(req, params);
    if (!ref) return lambdaError(ref.error());
    if (!isJsonObject(req.body)) return badRequestBody(req.body);
    auto n = lambda::parseProvisionedConcurrency(req.body);
    if (!n) return lambdaError(n.error());
    auto config = functions_.putProvisionedConfig(ref->name, ref->qualifier, *n);
    if (!config) return lambdaError(config.error());
    reconfigureOrWarn(ref->name);
    return jsonResponse(202, provisionedStatus(*config, versionOf(*config)));
  }

  http::Response getProvisioned(const http::Request& req, const PathParams& params) {
    auto query = parseQuery(req.query);
    if (!query) return lambdaError(query.error());
    if (auto it = query->find("List"); it != query->end()) {
      // ListProvisionedConcurrencyConfigs
      auto name = unqualifiedName(req, params);
      if (!name) return lambdaError(name.error());
      if (auto record = functions_.get(*name); !record) return lambdaError(record.error());
      auto configs = functions_.listProvisionedConfigs(*name);
      if (!configs) return lambdaError(configs.error());
      json::array out;
      for (const auto& c : *configs) {
        json::object o = provisionedStatus(c, versionOf(c));
        o["FunctionArn"] = lambda::functionArn(options_.account, c.function, c.qualifier);
        out.push_back(std::move(o));
      }
      return jsonResponse(200, json::object{{"ProvisionedConcurrencyConfigs", std::move(out)}});
    }
    auto ref = provisionedRef(req, params);
    if (!ref) return lambdaError(ref.error());
    auto config = functions_.getProvisionedConfig(ref->name, ref->qualifier);
    if (!config)
      return lambdaError(config.error(), config.error().code == ErrorCode::kNotFound
                                             ? "ProvisionedConcurrencyConfigNotFoundException"
                                             : "");
    return jsonResponse(200, provisionedStatus(*config, versionOf(*config)));
  }

  http::Response deleteProvisioned(const http::Request& req, const PathParams& params) {
    auto ref = provisionedRef(req, params);
    if (!ref) return lambdaError(ref.error());
    if (auto st = functions_.deleteProvisionedConfig(ref->name, ref->qualifier); !st)
      return lambdaError(st.error());
    reconfigureOrWarn(ref->name);
    return noContent();
  }

  http::Response accountSettings(const http::Request&, const PathParams&) {
    auto records = functions_.list();
    if (!records) return lambdaError(records.error());
    int64_t code_size = 0;
    int reserved = 0;
    for (const auto& r : *records) {
      code_size += r.code_size;
      reserved += r.reserved_concurrency.value_or(0);
    }
    json::object limit{
        {"TotalCodeSize", 80ll << 30},
        {"CodeSizeUnzipped", static_cast<int64_t>(control::kMaxUnzippedBytes)},
        {"CodeSizeZipped", static_cast<int64_t>(control::kMaxZipBytes)},
        {"ConcurrentExecutions", control::kAccountConcurrencyLimit},
        {"UnreservedConcurrentExecutions", control::kAccountConcurrencyLimit - reserved}};
    json::object usage{{"TotalCodeSize", code_size},
                       {"FunctionCount", static_cast<int64_t>(records->size())}};
    return jsonResponse(
        200, json::object{{"AccountLimit", std::move(limit)}, {"AccountUsage", std::move(usage)}});
  }

 private:
  using Op = http::Response (Impl::*)(const http::Request&, const PathParams&);

  // A handler that runs `op` on the control pool.
  Handler control(Op op) {
    return [self = shared_from_this(), op](http::Request&& req, const PathParams& params,
                                           http::Responder respond) {
      offload(self->pool_, std::move(respond),
              [self, op, req = std::move(req), params]() { return ((*self).*op)(req, params); });
    };
  }

  LambdaApiOptions options_;
  control::FunctionService& functions_;
  Invoker& invoker_;
  engine::Engine& engine_;
  ThreadPool& pool_;
};

LambdaApi::LambdaApi(LambdaApiOptions options, control::FunctionService& functions,
                     Invoker& invoker, ThreadPool& pool)
    : impl_(std::make_shared<Impl>(std::move(options), functions, invoker, pool)) {}

void LambdaApi::addRoutes(Router<Handler>& router) { impl_->addRoutes(router); }

void LambdaApi::invoke(http::Request&& req, const PathParams& params, http::Responder respond,
                       int cascade_depth) {
  impl_->invoke(std::move(req), params, std::move(respond), cascade_depth);
}

void LambdaApi::enqueueEvent(events::Event event, std::function<void(Result<std::string>)> done) {
  impl_->enqueueEvent(std::move(event), std::move(done));
}

Status LambdaApi::configureEngine() { return impl_->configureEngine(); }

Status LambdaApi::reconfigure(std::string_view function_name) {
  return impl_->reconfigure(function_name);
}

}  // namespace gust::gateway
