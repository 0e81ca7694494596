// Maps a method and a path to a handler. Patterns are made of literal segments and `{name}`
// parameters (one segment each); a literal segment wins over a parameter. Later: `{proxy+}`
// greedy parameters for API Gateway routes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gust::gateway {

using PathParams = std::map<std::string, std::string, std::less<>>;

template <class Handler>
class Router {
 public:
  // GUST_CHECKs that the pattern is well formed (patterns are code, not input).
  void add(std::string method, std::string_view pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: no route matched
    PathParams params;
    bool path_matched = false;  // true with a null handler: wrong method (405)
    std::vector<std::string> allowed_methods;
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" for parameters
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Splits "/a/b/" into {"a", "b", ""}; "/" into {""}. Exposed for tests.
std::vector<std::string_view> splitPath(std::string_view path);

template <class Handler>
void Router<Handler>::add(std::string method, std::string_view pattern, Handler handler) {
  Route route{std::move(method), {}, std::move(handler)};
  for (auto s : splitPath(pattern)) route.segments.emplace_back(s);
  routes_.push_back(std::move(route));
}

template <class Handler>
typename Router<Handler>::Match Router<Handler>::match(std::string_view method,
                                                       std::string_view path) const {
  Match best;
  int best_literals = -1;
  auto segments = splitPath(path);
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    PathParams params;
    int literals = 0;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        ok = !segments[i].empty();
        if (ok) params.emplace(want.substr(1, want.size() - 2), std::string(segments[i]));
      } else {
        ok = want == segments[i];
        ++literals;
      }
    }
    if (!ok) continue;
    best.path_matched = true;
    best.allowed_methods.push_back(route.method);
    if (route.method == method && literals > best_literals) {
      best_literals = literals;
      best.handler = &route.handler;
      best.params = std::move(params);
    }
  }
  return best;
}

}  // namespace gust::gateway
