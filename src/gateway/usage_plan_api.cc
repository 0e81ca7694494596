#include "gateway/usage_plan_api.h"

#include <boost/json.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/usage_plans.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

http::Response noContent() {
  http::Response res;
  res.status = 204;
  return res;
}

http::Response answer(const Status& st) { return st ? noContent() : errorResponse(st.error()); }

// The body's single field `field` (a boolean or a string), or an error naming what to send.
Result<json::value> onlyField(std::string_view body, std::string_view field,
                              std::string_view expected) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o || o->size() != 1 || !o->contains(field))
    return Error::invalid(fmt::format("send a JSON object {{\"{}\": {}}}", field, expected));
  return o->at(field);
}

}  // namespace

void addUsagePlanRoutes(Router<Handler>& router, control::UsagePlanService& service,
                        ThreadPool& pool) {
  // Each handler runs `work` (store access) on the pool and answers with its response.
  auto route = [&router, &pool](std::string method, std::string_view pattern, auto work) {
    router.add(std::move(method), pattern,
               [&pool, work](http::Request&& req, const PathParams& params, http::Responder r) {
                 offload(pool, std::move(r),
                         [work, req = std::move(req), params] { return work(req, params); });
               });
  };
  control::UsagePlanService* s = &service;

  route("POST", "/api/v1/api-keys", [s](const http::Request& req, const PathParams&) {
    auto request = control::parseApiKeyRequest(req.body);
    if (!request) return errorResponse(request.error());
    auto created = s->createApiKey(std::move(*request));
    if (!created) return errorResponse(created.error());
    spdlog::info("created API key {} ({})", created->record.id, created->record.name);
    return http::Response::json(201, control::apiKeyToJson(created->record, &created->value));
  });
  route("GET", "/api/v1/api-keys", [s](const http::Request&, const PathParams&) {
    auto keys = s->listApiKeys();
    if (!keys) return errorResponse(keys.error());
    return http::Response::json(200, control::apiKeysToJson(*keys));
  });
  route("GET", "/api/v1/api-keys/{id}", [s](const http::Request&, const PathParams& p) {
    auto key = s->getApiKey(p.at("id"));
    if (!key) return errorResponse(key.error());
    return http::Response::json(200, control::apiKeyToJson(*key));
  });
  route("PATCH", "/api/v1/api-keys/{id}", [s](const http::Request& req, const PathParams& p) {
    auto enabled = onlyField(req.body, "enabled", "true|false");
    if (!enabled) return errorResponse(enabled.error());
    if (!enabled->is_bool())
      return errorResponse(ErrorCode::kInvalidArgument, "enabled must be true or false");
    auto key = s->setApiKeyEnabled(p.at("id"), enabled->get_bool());
    if (!key) return errorResponse(key.error());
    spdlog::info("{} API key {}", key->enabled ? "enabled" : "disabled", key->id);
    return http::Response::json(200, control::apiKeyToJson(*key));
  });
  route("DELETE", "/api/v1/api-keys/{id}", [s](const http::Request&, const PathParams& p) {
    return answer(s->deleteApiKey(p.at("id")));
  });

  route("POST", "/api/v1/usage-plans", [s](const http::Request& req, const PathParams&) {
    auto plan = control::parseUsagePlanRequest(req.body);
    if (!plan) return errorResponse(plan.error());
    auto created = s->createUsagePlan(std::move(*plan));
    if (!created) return errorResponse(created.error());
    spdlog::info("created usage plan {} ({})", created->id, created->name);
    return http::Response::json(201, control::usagePlanToJson(*created));
  });
  route("GET", "/api/v1/usage-plans", [s](const http::Request&, const PathParams&) {
    auto plans = s->listUsagePlans();
    if (!plans) return errorResponse(plans.error());
    return http::Response::json(200, control::usagePlansToJson(*plans));
  });
  route("GET", "/api/v1/usage-plans/{id}", [s](const http::Request&, const PathParams& p) {
    auto plan = s->getUsagePlan(p.at("id"));
    if (!plan) return errorResponse(plan.error());
    return http::Response::json(200, control::usagePlanToJson(*plan));
  });
  route("DELETE", "/api/v1/usage-plans/{id}", [s](const http::Request&, const PathParams& p) {
    return answer(s->deleteUsagePlan(p.at("id")));
  });
  route("GET", "/api/v1/usage-plans/{id}/keys", [s](const http::Request&, const PathParams& p) {
    auto keys = s->planKeys(p.at("id"));
    if (!keys) return errorResponse(keys.error());
    return http::Response::json(200, control::apiKeysToJson(*keys));
  });
  route("POST", "/api/v1/usage-plans/{id}/keys",
        [s](const http::Request& req, const PathParams& p) {
          auto key = onlyField(req.body, "key_id", "\"<API key id or name>\"");
          if (!key) return errorResponse(key.error());
          if (!key->is_string())
            return errorResponse(ErrorCode::kInvalidArgument, "key_id must be a string");
          std::string ref(key->get_string());
          if (auto st = s->addKeyToPlan(p.at("id"), ref); !st) return errorResponse(st.error());
          auto added = s->getApiKey(ref);
          if (!added) return errorResponse(added.error());
          return http::Response::json(201, control::apiKeyToJson(*added));
        });
  route("DELETE", "/api/v1/usage-plans/{id}/keys/{keyId}",
        [s](const http::Request&, const PathParams& p) {
          return answer(s->removeKeyFromPlan(p.at("id"), p.at("keyId")));
        });
  route("GET", "/api/v1/usage-plans/{id}/usage",
        [s](const http::Request& req, const PathParams& p) {
          auto query = parseQuery(req.query);
          if (!query) return errorResponse(query.error());
          std::string key, start, end;
          for (const auto& [name, value] : *query) {
            if (name == "keyId")
              key = value;
            else if (name == "startDate")
              start = value;
            else if (name == "endDate")
              end = value;
            else
              return errorResponse(
                  ErrorCode::kInvalidArgument,
                  fmt::format("unknown query parameter '{}'; allowed: startDate, endDate, keyId",
                              name.substr(0, 64)));
          }
          if (start.empty() || end.empty())
            return errorResponse(ErrorCode::kInvalidArgument,
                                 "startDate and endDate are required (YYYY-MM-DD, UTC)");
          auto report = s->usage(p.at("id"), key, start, end);
          if (!report) return errorResponse(report.error());
          return http::Response::json(200, control::usageReportToJson(*report));
        });
}

}  // namespace gust::gateway
