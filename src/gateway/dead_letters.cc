#include "gateway/dead_letters.h"

#include <boost/json.hpp>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/time.h"
#include "events/queue.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;

json::object summary(const events::DeadLetter& d) {
  json::object o{{"id", d.id},
                 {"queue", d.queue},
                 {"request_id", d.request_id},
                 {"function", d.function},
                 {"qualifier", d.qualifier},
                 {"condition", d.condition},
                 {"created", isoUtcMs(d.created_ms)}};
  json::error_code ec;
  json::value record = json::parse(d.record, ec);
  if (!ec && record.is_object()) {
    if (auto* ctx = record.as_object().if_contains("requestContext"); ctx && ctx->is_object())
      if (auto* n = ctx->as_object().if_contains("approximateInvokeCount"))
        o["approximate_invoke_count"] = *n;
  }
  return o;
}

Result<events::DeadLetterQuery> parseListQuery(std::string_view raw) {
  GUST_ASSIGN_OR_RETURN(auto params, parseQuery(raw));
  events::DeadLetterQuery q;
  q.limit = kDefaultLimit;
  for (const auto& [key, value] : params) {
    if (key == "queue") {
      q.queue = value;
    } else if (key == "function") {
      q.function = value;
    } else if (key == "after") {
      q.after_id = value;
    } else if (key == "limit") {
      int n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > kMaxLimit)
        return Error::invalid(
            fmt::format("limit: '{}' is not allowed; use 1 to {}", value.substr(0, 32), kMaxLimit));
      q.limit = n;
    } else {
      return Error::invalid(
          fmt::format("unknown query parameter '{}'; allowed: queue, function, after, limit",
                      key.substr(0, 64)));
    }
  }
  return q;
}

http::Response noQueue() {
  return errorResponse(ErrorCode::kUnavailable,
                       "this server has no event queue; the dead-letter store is not available");
}

}  // namespace

void addDeadLetterRoutes(Router<Handler>& router, events::EventQueue* queue, ThreadPool& pool) {
  // Each route runs on the control pool (the queue's reads wait for its writer).
  auto route = [&router, queue, &pool](
                   std::string method, std::string path,
                   std::function<http::Response(events::EventQueue&, const http::Request&,
                                                const PathParams&)>
                       op) {
    router.add(
        method, path,
        [queue, &pool, op](http::Request&& req, const PathParams& params, http::Responder respond) {
          if (!queue) return respond(noQueue());
          offload(pool, std::move(respond),
                  [queue, op, req = std::move(req), params] { return op(*queue, req, params); });
        });
  };
  route("GET", "/api/v1/dead-letters",
        [](events::EventQueue& q, const http::Request& req, const PathParams&) {
          auto query = parseListQuery(req.query);
          if (!query) return errorResponse(query.error());
          auto letters = q.listDeadLetters(*query);
          if (!letters) return errorResponse(letters.error());
          json::array out;
          for (const auto& d : *letters) out.push_back(summary(d));
          std::string next = static_cast<int>(letters->size()) == query->limit ? letters->back().id
                                                                               : std::string();
          return http::Response::json(
              200, json::serialize(json::object{{"dead_letters", std::move(out)}, {"next", next}}));
        });
  route("DELETE", "/api/v1/dead-letters",
        [](events::EventQueue& q, const http::Request& req, const PathParams&) {
          auto params = parseQuery(req.query);
          if (!params) return errorResponse(params.error());
          std::string queue_name;
          for (const auto& [key, value] : *params) {
            if (key != "queue")
              return errorResponse(
                  ErrorCode::kInvalidArgument,
                  fmt::format("unknown query parameter '{}'; allowed: queue", key.substr(0, 64)));
            queue_name = value;
          }
          auto n = q.purgeDeadLetters(queue_name);
          if (!n) return errorResponse(n.error());
          spdlog::info("purged {} dead letters{}", *n,
                       queue_name.empty() ? "" : " of queue " + queue_name);
          return http::Response::json(200, json::serialize(json::object{{"purged", *n}}));
        });
  route("GET", "/api/v1/dead-letters/{id}",
        [](events::EventQueue& q, const http::Request&, const PathParams& params) {
          auto d = q.getDeadLetter(params.at("id"));
          if (!d) return errorResponse(d.error());
          json::object o = summary(*d);
          json::error_code ec;
          json::value record = json::parse(d->record, ec);
          o["record"] = ec ? json::value(json::string(d->record)) : record;
          return http::Response::json(200, json::serialize(o));
        });
  route("DELETE", "/api/v1/dead-letters/{id}",
        [](events::EventQueue& q, const http::Request&, const PathParams& params) {
          if (auto st = q.deleteDeadLetter(params.at("id")); !st) return errorResponse(st.error());
          http::Response res;
          res.status = 204;
          return res;
        });
  route("POST", "/api/v1/dead-letters/{id}/redrive",
        [](events::EventQueue& q, const http::Request&, const PathParams& params) {
          auto id = q.redrive(params.at("id"));
          if (!id) return errorResponse(id.error());
          spdlog::info("redrove dead letter {} as event {}", params.at("id"), *id);
          return http::Response::json(202, json::serialize(json::object{{"request_id", *id}}));
        });
}

}  // namespace gust::gateway
