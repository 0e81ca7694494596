#include "gateway/events_routes.h"

#include <boost/json.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "events/schedule_expr.h"
#include "events/scheduler.h"
#include "events/topics.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

http::Response noContent() {
  http::Response res;
  res.status = 204;
  return res;
}

using Work = std::function<http::Response(http::Request&, const PathParams&)>;

// A handler whose work runs on the pool, or 503 when `available` is false.
Handler offloaded(ThreadPool& pool, bool available, std::string_view what, Work work) {
  return [&pool, available, what = std::string(what), work = std::move(work)](
             http::Request&& req, const PathParams& params, http::Responder respond) {
    if (!available)
      return respond(errorResponse(Error::unavailable(
          fmt::format("{} are not available on this server (it has no event queue)", what))));
    offload(pool, std::move(respond),
            [work, req = std::move(req), params]() mutable { return work(req, params); });
  };
}

// Wraps a handler that needs the scheduler.
Handler withScheduler(
    ThreadPool& pool, events::Scheduler* scheduler,
    std::function<http::Response(events::Scheduler&, http::Request&, const PathParams&)> work) {
  return offloaded(
      pool, scheduler != nullptr, "schedules",
      [scheduler, work = std::move(work)](http::Request& req, const PathParams& params) {
        return work(*scheduler, req, params);
      });
}

Handler withTopics(
    ThreadPool& pool, events::Topics* topics,
    std::function<http::Response(events::Topics&, http::Request&, const PathParams&)> work) {
  return offloaded(pool, topics != nullptr, "topics",
                   [topics, work = std::move(work)](http::Request& req, const PathParams& params) {
                     return work(*topics, req, params);
                   });
}

json::object subscriptionObject(const events::Topics& topics, const store::SubscriptionRecord& s) {
  return json::object{{"id", s.id},
                      {"topic", s.topic},
                      {"function", s.function},
                      {"qualifier", s.qualifier},
                      {"arn", topics.subscriptionArn(s)},
                      {"created", s.created}};
}

// {"name": ...} or {"function": ..., "qualifier": ...}: one string field required, others
// optional.
Result<json::object> bodyObject(std::string_view body, std::string_view example) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object())
    return Error::invalid(fmt::format("the body must be a JSON object like {}", example));
  return std::move(v.as_object());
}

std::string stringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

http::Response scheduleAnswer(int status, const Result<events::ScheduleView>& view) {
  if (!view) return errorResponse(view.error());
  return http::Response::json(status, events::scheduleToJson(*view));
}

}  // namespace

void addScheduleRoutes(Router<Handler>& router, ThreadPool& pool, events::Scheduler* scheduler) {
  router.add("GET", "/api/v1/schedules",
             withScheduler(
                 pool, scheduler, [](events::Scheduler& s, http::Request& req, const PathParams&) {
                   auto query = parseQuery(req.query);
                   if (!query) return errorResponse(query.error());
                   std::string function;
                   for (const auto& [key, value] : *query) {
                     if (key != "function")
                       return errorResponse(Error::invalid(fmt::format(
                           "unknown query parameter '{}'; allowed: function", key.substr(0, 64))));
                     function = value;
                   }
                   auto list = s.list(function);
                   if (!list) return errorResponse(list.error());
                   return http::Response::json(200, events::schedulesToJson(*list));
                 }));
  router.add("POST", "/api/v1/schedules",
             withScheduler(pool, scheduler,
                           [](events::Scheduler& s, http::Request& req, const PathParams&) {
                             auto spec = events::scheduleSpecFromJson(req.body);
                             if (!spec) return errorResponse(spec.error());
                             auto created = s.create(std::move(*spec));
                             if (created)
                               spdlog::info("created schedule {} ({}) for {}", created->record.name,
                                            created->record.expression, created->record.function);
                             return scheduleAnswer(201, created);
                           }));
  router.add("GET", "/api/v1/schedules/{name}",
             withScheduler(pool, scheduler,
                           [](events::Scheduler& s, http::Request&, const PathParams& params) {
                             return scheduleAnswer(200, s.get(params.at("name")));
                           }));
  router.add("DELETE", "/api/v1/schedules/{name}",
             withScheduler(pool, scheduler,
                           [](events::Scheduler& s, http::Request&, const PathParams& params) {
                             if (auto st = s.remove(params.at("name")); !st)
                               return errorResponse(st.error());
                             spdlog::info("deleted schedule {}", params.at("name"));
                             return noContent();
                           }));
  for (bool enable : {true, false}) {
    router.add(
        "POST", enable ? "/api/v1/schedules/{name}/enable" : "/api/v1/schedules/{name}/disable",
        withScheduler(pool, scheduler,
                      [enable](events::Scheduler& s, http::Request&, const PathParams& params) {
                        auto view = s.setEnabled(params.at("name"), enable);
                        if (view)
                          spdlog::info("{} schedule {}", enable ? "enabled" : "disabled",
                                       params.at("name"));
                        return scheduleAnswer(200, view);
                      }));
  }
  router.add("POST", "/api/v1/test/clock",
             withScheduler(
                 pool, scheduler, [](events::Scheduler& s, http::Request& req, const PathParams&) {
                   json::error_code ec;
                   json::value v = json::parse(req.body, ec);
                   const json::value* advance =
                       !ec && v.is_object() ? v.as_object().if_contains("advance_ms") : nullptr;
                   if (!advance || !advance->is_int64())
                     return errorResponse(Error::invalid(
                         "the body must be a JSON object like {\"advance_ms\": 60000}"));
                   auto moved = s.advanceTestClock(advance->get_int64());
                   if (!moved) {
                     // Without the test clock the endpoint does not exist.
                     if (moved.error().code == ErrorCode::kFailedPrecondition)
                       return errorResponse(Error::notFound(moved.error().message));
                     return errorResponse(moved.error());
                   }
                   return http::Response::json(
                       200, json::serialize(json::object{{"now", events::eventTime(moved->first)},
                                                         {"now_ms", moved->first},
                                                         {"fired", moved->second}}));
                 }));
}

void addTopicRoutes(Router<Handler>& router, ThreadPool& pool, events::Topics* topics) {
  router.add("GET", "/api/v1/topics",
             withTopics(pool, topics, [](events::Topics& t, http::Request&, const PathParams&) {
               auto list = t.list();
               if (!list) return errorResponse(list.error());
               json::array arr;
               for (const auto& topic : *list)
                 arr.push_back(json::parse(events::topicToJson(topic, t.topicArn(topic.name))));
               return http::Response::json(200, json::serialize(json::object{{"topics", arr}}));
             }));
  router.add("POST", "/api/v1/topics",
             withTopics(pool, topics, [](events::Topics& t, http::Request& req, const PathParams&) {
               auto body = bodyObject(req.body, R"({"name": "orders"})");
               if (!body) return errorResponse(body.error());
               for (const auto& [key, value] : *body)
                 if (key != "name" || !value.is_string())
                   return errorResponse(Error::invalid(
                       "the body must be a JSON object like {\"name\": \"orders\"}"));
               auto created = t.create(stringOf(*body, "name"));
               if (!created) return errorResponse(created.error());
               if (created->second) spdlog::info("created topic {}", created->first.name);
               return http::Response::json(
                   created->second ? 201 : 200,
                   events::topicToJson(created->first, t.topicArn(created->first.name)));
             }));
  router.add(
      "GET", "/api/v1/topics/{name}",
      withTopics(pool, topics, [](events::Topics& t, http::Request&, const PathParams& params) {
        auto topic = t.get(params.at("name"));
        if (!topic) return errorResponse(topic.error());
        auto subs = t.subscriptions(topic->name);
        if (!subs) return errorResponse(subs.error());
        json::object o =
            json::parse(events::topicToJson(*topic, t.topicArn(topic->name))).as_object();
        json::array arr;
        for (const auto& s : *subs) arr.push_back(subscriptionObject(t, s));
        o["subscriptions"] = std::move(arr);
        return http::Response::json(200, json::serialize(o));
      }));
  router.add(
      "DELETE", "/api/v1/topics/{name}",
      withTopics(pool, topics, [](events::Topics& t, http::Request&, const PathParams& params) {
        if (auto st = t.remove(params.at("name")); !st) return errorResponse(st.error());
        spdlog::info("deleted topic {}", params.at("name"));
        return noContent();
      }));
  router.add(
      "POST", "/api/v1/topics/{name}/publish",
      withTopics(pool, topics, [](events::Topics& t, http::Request& req, const PathParams& params) {
        auto request = events::publishRequestFromJson(req.body);
        if (!request) return errorResponse(request.error());
        auto id = t.publish(params.at("name"), std::move(*request));
        if (!id) return errorResponse(id.error());
        return http::Response::json(200, json::serialize(json::object{{"message_id", *id}}));
      }));
  router.add(
      "GET", "/api/v1/topics/{name}/subscriptions",
      withTopics(pool, topics, [](events::Topics& t, http::Request&, const PathParams& params) {
        auto subs = t.subscriptions(params.at("name"));
        if (!subs) return errorResponse(subs.error());
        json::array arr;
        for (const auto& s : *subs) arr.push_back(subscriptionObject(t, s));
        return http::Response::json(
            200, json::serialize(json::object{{"subscriptions", std::move(arr)}}));
      }));
  router.add(
      "POST", "/api/v1/topics/{name}/subscriptions",
      withTopics(pool, topics, [](events::Topics& t, http::Request& req, const PathParams& params) {
        constexpr std::string_view kExample = R"({"function": "handler", "qualifier": "live"})";
        auto body = bodyObject(req.body, kExample);
        if (!body) return errorResponse(body.error());
        for (const auto& [key, value] : *body)
          if ((key != "function" && key != "qualifier") || !value.is_string())
            return errorResponse(Error::invalid(fmt::format(
                "the body must be a JSON object like {} (qualifier optional)", kExample)));
        auto before = t.subscriptions(params.at("name"));
        if (!before) return errorResponse(before.error());
        auto sub = t.subscribe(params.at("name"), stringOf(*body, "function"),
                               stringOf(*body, "qualifier"));
        if (!sub) return errorResponse(sub.error());
        bool created = std::none_of(before->begin(), before->end(),
                                    [&](const auto& s) { return s.id == sub->id; });
        if (created) spdlog::info("subscribed {} to topic {}", sub->function, sub->topic);
        return http::Response::json(created ? 201 : 200,
                                    json::serialize(subscriptionObject(t, *sub)));
      }));
  router.add(
      "DELETE", "/api/v1/topics/{name}/subscriptions/{id}",
      withTopics(pool, topics, [](events::Topics& t, http::Request&, const PathParams& params) {
        if (auto st = t.unsubscribe(params.at("name"), params.at("id")); !st)
          return errorResponse(st.error());
        return noContent();
      }));
}

}  // namespace gust::gateway
