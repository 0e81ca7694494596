#include "apigw/cors.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace gust::apigw {
namespace {

constexpr size_t kMaxEntries = 100;
constexpr size_t kMaxEntryBytes = 256;
constexpr std::string_view kMethods[] = {"GET",    "POST", "PUT",    "PATCH",
                                         "DELETE", "HEAD", "OPTIONS"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) { return e == s; });
}

bool containsNoCase(const std::vector<std::string>& list, std::string_view s) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) { return iequals(e, s); });
}

// RFC 9110 token characters (header and method names).
bool isToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// scheme "://" host [":" port], without path, query or fragment.
bool isOrigin(std::string_view s) {
  size_t sep = s.find("://");
  if (sep == 0 || sep == std::string_view::npos) return false;
  std::string_view scheme = s.substr(0, sep), authority = s.substr(sep + 3);
  if (!std::isalpha(static_cast<unsigned char>(scheme[0]))) return false;
  for (char c : scheme)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
      return false;
  if (authority.empty()) return false;
  return std::none_of(authority.begin(), authority.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= ' ' || u >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@';
  });
}

Status checkList(std::string_view field, const std::vector<std::string>& list) {
  if (list.size() > kMaxEntries)
    return Error::invalid(fmt::format("cors.{} has more than {} entries", field, kMaxEntries));
  for (const auto& e : list)
    if (e.size() > kMaxEntryBytes)
      return Error::invalid(
          fmt::format("cors.{} has an entry longer than {} characters", field, kMaxEntryBytes));
  return okStatus();
}

Result<std::vector<std::string>> stringList(const boost::json::value& v, std::string_view field) {
  if (!v.is_array())
    return Error::invalid(fmt::format("cors.{} must be an array of strings", field));
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_string())
      return Error::invalid(fmt::format("cors.{} must be an array of strings", field));
    out.emplace_back(e.as_string());
  }
  return out;
}

boost::json::array toArray(const std::vector<std::string>& list) {
  boost::json::array a;
  for (const auto& s : list) a.emplace_back(s);
  return a;
}

bool originAllowed(const CorsConfig& cors, std::string_view origin) {
  return contains(cors.allow_origins, "*") || containsNoCase(cors.allow_origins, origin);
}

// The Access-Control-Allow-Origin value (and Vary when it depends on the request's Origin).
void addOrigin(const CorsConfig& cors, std::string_view origin, HeaderList& out) {
  if (contains(cors.allow_origins, "*") && !cors.allow_credentials) {
    out.emplace_back("Access-Control-Allow-Origin", "*");
    return;
  }
  out.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  out.emplace_back("Vary", "Origin");
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Status validateCors(const CorsConfig& cors) {
  GUST_TRY(checkList("allow_origins", cors.allow_origins));
  GUST_TRY(checkList("allow_methods", cors.allow_methods));
  GUST_TRY(checkList("allow_headers", cors.allow_headers));
  GUST_TRY(checkList("expose_headers", cors.expose_headers));
  for (const auto& o : cors.allow_origins)
    if (o != "*" && !isOrigin(o))
      return Error::invalid(fmt::format(
          "cors.allow_origins: \"{}\" is not an origin: use scheme://host[:port] without a path, "
          "or \"*\"",
          o));
  for (const auto& m : cors.allow_methods)
    if (m != "*" && std::find(std::begin(kMethods), std::end(kMethods), m) == std::end(kMethods))
      return Error::invalid(fmt::format("cors.allow_methods: \"{}\" is not one of {} or \"*\"", m,
                                        fmt::join(kMethods, ", ")));
  for (const auto& h : cors.allow_headers)
    if (!isToken(h))
      return Error::invalid(fmt::format("cors.allow_headers: \"{}\" is not a header name", h));
  for (const auto& h : cors.expose_headers)
    if (!isToken(h))
      return Error::invalid(fmt::format("cors.expose_headers: \"{}\" is not a header name", h));
  if (cors.max_age && (*cors.max_age < -1 || *cors.max_age > kMaxCorsMaxAge))
    return Error::invalid(
        fmt::format("cors.max_age must be between -1 and {} seconds", kMaxCorsMaxAge));
  if (cors.allow_credentials && contains(cors.allow_origins, "*"))
    return Error::invalid(
        "cors.allow_credentials cannot be true when allow_origins contains \"*\": list the origins "
        "that may send credentials instead");
  return okStatus();
}

Result<CorsConfig> parseCors(const boost::json::value& json) {
  if (!json.is_object()) return Error::invalid("cors must be an object");
  CorsConfig cors;
  for (const auto& [key, value] : json.as_object()) {
    if (key == "allow_origins") {
      GUST_ASSIGN_OR_RETURN(cors.allow_origins, stringList(value, key));
    } else if (key == "allow_methods") {
      GUST_ASSIGN_OR_RETURN(cors.allow_methods, stringList(value, key));
      for (auto& m : cors.allow_methods)
        std::transform(m.begin(), m.end(), m.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    } else if (key == "allow_headers") {
      GUST_ASSIGN_OR_RETURN(cors.allow_headers, stringList(value, key));
    } else if (key == "expose_headers") {
      GUST_ASSIGN_OR_RETURN(cors.expose_headers, stringList(value, key));
    } else if (key == "max_age") {
      if (!value.is_int64() && !value.is_uint64())
        return Error::invalid("cors.max_age must be an integer number of seconds");
      if (value.is_uint64() || value.as_int64() > kMaxCorsMaxAge || value.as_int64() < -1)
        return Error::invalid(
            fmt::format("cors.max_age must be between -1 and {} seconds", kMaxCorsMaxAge));
      cors.max_age = static_cast<int>(value.as_int64());
    } else if (key == "allow_credentials") {
      if (!value.is_bool()) return Error::invalid("cors.allow_credentials must be true or false");
      cors.allow_credentials = value.as_bool();
    } else {
      return Error::invalid(fmt::format(
          "cors has an unknown field \"{}\" (allow_origins, allow_methods, allow_headers, "
          "expose_headers, max_age, allow_credentials)",
          std::string_view(key)));
    }
  }
  GUST_TRY(validateCors(cors));
  return cors;
}

boost::json::object corsToJson(const CorsConfig& cors) {
  boost::json::object o;
  o["allow_origins"] = toArray(cors.allow_origins);
  o["allow_methods"] = toArray(cors.allow_methods);
  o["allow_headers"] = toArray(cors.allow_headers);
  o["expose_headers"] = toArray(cors.expose_headers);
  if (cors.max_age) o["max_age"] = *cors.max_age;
  o["allow_credentials"] = cors.allow_credentials;
  return o;
}

bool isPreflight(const CorsRequest& request) {
  return request.method == "OPTIONS" && request.origin.has_value() &&
         request.request_method.has_value();
}

HeaderList preflightHeaders(const CorsConfig& cors, const CorsRequest& request) {
  HeaderList out;
  if (!request.origin || !request.request_method || !originAllowed(cors, *request.origin))
    return out;
  std::string method = trim(*request.request_method);
  bool any_method = contains(cors.allow_methods, "*");
  if (!any_method && !contains(cors.allow_methods, method)) return out;

  addOrigin(cors, *request.origin, out);
  // With credentials, browsers take "*" literally, so the request's own values are echoed.
  if (any_method && cors.allow_credentials)
    out.emplace_back("Access-Control-Allow-Methods", method);
  else
    out.emplace_back("Access-Control-Allow-Methods",
                     fmt::format("{}", fmt::join(cors.allow_methods, ",")));
  if (!cors.allow_headers.empty()) {
    if (contains(cors.allow_headers, "*") && cors.allow_credentials) {
      if (request.request_headers && !trim(*request.request_headers).empty())
        out.emplace_back("Access-Control-Allow-Headers", trim(*request.request_headers));
    } else {
      out.emplace_back("Access-Control-Allow-Headers",
                       fmt::format("{}", fmt::join(cors.allow_headers, ",")));
    }
  }
  if (cors.max_age) out.emplace_back("Access-Control-Max-Age", std::to_string(*cors.max_age));
  if (cors.allow_credentials) out.emplace_back("Access-Control-Allow-Credentials", "true");
  return out;
}

HeaderList responseHeaders(const CorsConfig& cors, std::optional<std::string_view> origin) {
  HeaderList out;
  if (!origin || !originAllowed(cors, *origin)) return out;
  addOrigin(cors, *origin, out);
  if (!cors.expose_headers.empty())
    out.emplace_back("Access-Control-Expose-Headers",
                     fmt::format("{}", fmt::join(cors.expose_headers, ",")));
  if (cors.allow_credentials) out.emplace_back("Access-Control-Allow-Credentials", "true");
  return out;
}

bool isCorsHeader(std::string_view name) {
  constexpr std::string_view kPrefix = "access-control-";
  return name.size() >= kPrefix.size() && lower(name.substr(0, kPrefix.size())) == kPrefix;
}

}  // namespace gust::apigw
