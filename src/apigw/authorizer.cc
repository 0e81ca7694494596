#include "apigw/authorizer.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace gust::apigw {
namespace {

namespace json = boost::json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isNameChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '_' || c == '.';
}

Result<std::string> stringField(const json::object& o, std::string_view key, std::string_view where,
                                bool required) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) return Error::invalid(fmt::format("{}: \"{}\" is required", where, key));
    return std::string();
  }
  if (!v->is_string())
    return Error::invalid(fmt::format("{}: \"{}\" must be a string", where, key));
  return std::string(v->as_string());
}

Result<std::vector<std::string>> stringArray(const json::value& v, std::string_view what) {
  if (!v.is_array()) return Error::invalid(fmt::format("{} must be an array of strings", what));
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return Error::invalid(fmt::format("{} must be an array of strings", what));
    out.emplace_back(e.as_string());
  }
  return out;
}

// "fn" or "fn:qualifier", with Lambda's name and qualifier characters.
Status parseFunctionRef(std::string_view ref, std::string& function, std::string& qualifier,
                        std::string_view where) {
  size_t colon = ref.find(':');
  function = std::string(ref.substr(0, colon));
  qualifier = colon == std::string_view::npos ? "" : std::string(ref.substr(colon + 1));
  auto ok = [](std::string_view s, size_t max) {
    return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
  };
  if (!ok(function, 64) ||
      (colon != std::string_view::npos && qualifier != "$LATEST" && !ok(qualifier, 128)))
    return Error::invalid(fmt::format(
        "{}: \"function\" must be a function name, optionally with :alias or :version", where));
  return okStatus();
}

constexpr std::string_view kKnownFields[] = {"name",
                                             "type",
                                             "identity_source",
                                             "issuer",
                                             "audience",
                                             "jwks_file",
                                             "jwks",
                                             "public_key_pem",
                                             "hmac_secret",
                                             "function",
                                             "payload_format",
                                             "simple_responses",
                                             "result_ttl_seconds"};

Result<AuthorizerConfig> parseAuthorizer(const json::value& value, std::string_view where_in) {
  std::string where(where_in);
  if (!value.is_object()) return Error::invalid(where + " must be an object");
  const auto& o = value.as_object();
  for (const auto& [key, v] : o)
    if (std::find(std::begin(kKnownFields), std::end(kKnownFields), key) == std::end(kKnownFields))
      return Error::invalid(fmt::format("{}: unknown field \"{}\" (allowed: {})", where,
                                        std::string_view(key), fmt::join(kKnownFields, ", ")));
  AuthorizerConfig a;
  GUST_ASSIGN_OR_RETURN(a.name, stringField(o, "name", where, true));
  if (a.name.empty() || a.name.size() > 128 ||
      !std::all_of(a.name.begin(), a.name.end(), isNameChar))
    return Error::invalid(fmt::format("{}: \"name\" must be 1-128 of A-Z a-z 0-9 - _ .", where));
  where = fmt::format("authorizer \"{}\"", a.name);
  GUST_ASSIGN_OR_RETURN(std::string type, stringField(o, "type", where, true));
  if (type == "jwt") {
    a.type = AuthorizerConfig::Type::kJwt;
  } else if (type == "lambda") {
    a.type = AuthorizerConfig::Type::kLambda;
  } else {
    return Error::invalid(fmt::format("{}: \"type\" must be \"jwt\" or \"lambda\"", where));
  }
  bool jwt = a.type == AuthorizerConfig::Type::kJwt;
  auto only = [&](std::initializer_list<std::string_view> keys, std::string_view type_name) {
    for (auto k : keys)
      if (o.contains(k))
        return Status(Error::invalid(
            fmt::format("{}: \"{}\" is only for {} authorizers", where, k, type_name)));
    return okStatus();
  };

  std::vector<std::string> sources;
  if (const auto* v = o.if_contains("identity_source")) {
    GUST_ASSIGN_OR_RETURN(sources, stringArray(*v, where + ": \"identity_source\""));
  } else if (jwt) {
    sources.emplace_back(kDefaultJwtIdentitySource);
  }
  for (const auto& s : sources) {
    auto parsed = parseIdentitySource(s);
    if (!parsed.ok()) return Error::invalid(where + ": " + parsed.error().message);
    a.identity_source.push_back(std::move(*parsed));
  }

  if (jwt) {
    GUST_TRY(
        only({"function", "payload_format", "simple_responses", "result_ttl_seconds"}, "lambda"));
    if (a.identity_source.size() != 1 || a.identity_source[0].kind != IdentitySource::Kind::kHeader)
      return Error::invalid(where +
                            ": a JWT authorizer takes one identity source, a header (default "
                            "$request.header.Authorization)");
    auto& j = a.jwt;
    GUST_ASSIGN_OR_RETURN(j.issuer, stringField(o, "issuer", where, true));
    if (j.issuer.empty()) return Error::invalid(where + ": \"issuer\" must not be empty");
    const auto* aud = o.if_contains("audience");
    if (aud == nullptr) return Error::invalid(where + ": \"audience\" is required (an array)");
    GUST_ASSIGN_OR_RETURN(j.audience, stringArray(*aud, where + ": \"audience\""));
    if (j.audience.empty())
      return Error::invalid(where + ": \"audience\" needs at least one entry");
    GUST_ASSIGN_OR_RETURN(j.jwks_file, stringField(o, "jwks_file", where, false));
    if (const auto* jwks = o.if_contains("jwks")) {
      if (!jwks->is_object())
        return Error::invalid(where + ": \"jwks\" must be a JWKS object {\"keys\": [...]}");
      j.jwks = json::serialize(*jwks);
    }
    GUST_ASSIGN_OR_RETURN(j.public_key_pem, stringField(o, "public_key_pem", where, false));
    GUST_ASSIGN_OR_RETURN(j.hmac_secret, stringField(o, "hmac_secret", where, false));
    if (j.jwks_file.empty() && j.jwks.empty() && j.public_key_pem.empty() && j.hmac_secret.empty())
      return Error::invalid(where +
                            ": give the keys tokens are signed with: \"jwks_file\", \"jwks\", "
                            "\"public_key_pem\" or \"hmac_secret\"");
    if (!j.jwks_file.empty() && j.jwks_file.front() != '/')
      return Error::invalid(where + ": \"jwks_file\" must be an absolute path");
    auto keys = inlineKeys(j);
    if (!keys.ok()) return Error::invalid(where + ": " + keys.error().message);
    return a;
  }

  GUST_TRY(
      only({"issuer", "audience", "jwks_file", "jwks", "public_key_pem", "hmac_secret"}, "jwt"));
  auto& l = a.lambda;
  GUST_ASSIGN_OR_RETURN(std::string function, stringField(o, "function", where, true));
  GUST_TRY(parseFunctionRef(function, l.function, l.qualifier, where));
  if (const auto* v = o.if_contains("payload_format")) {
    if (!v->is_string() || (v->as_string() != "1.0" && v->as_string() != "2.0"))
      return Error::invalid(where + ": \"payload_format\" must be \"1.0\" or \"2.0\"");
    l.payload_format = v->as_string();
  }
  if (const auto* v = o.if_contains("simple_responses")) {
    if (!v->is_bool())
      return Error::invalid(where + ": \"simple_responses\" must be true or false");
    l.simple_responses = v->as_bool();
  }
  if (l.simple_responses && l.payload_format != "2.0")
    return Error::invalid(where + ": \"simple_responses\" needs payload_format \"2.0\"");
  if (const auto* v = o.if_contains("result_ttl_seconds")) {
    if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > kMaxAuthorizerTtlSeconds)
      return Error::invalid(fmt::format("{}: \"result_ttl_seconds\" must be 0 (no caching) to {}",
                                        where, kMaxAuthorizerTtlSeconds));
    l.result_ttl_seconds = static_cast<int>(v->as_int64());
  }
  if (l.result_ttl_seconds > 0 && a.identity_source.empty())
    return Error::invalid(where +
                          ": caching (result_ttl_seconds > 0) needs an identity_source to key "
                          "the cache on; add one or set result_ttl_seconds to 0");
  return a;
}

bool allowsInvoke(const json::value& action) {
  auto one = [](const json::value& a) {
    if (!a.is_string()) return false;
    std::string s = lower(a.as_string());
    return s == "execute-api:invoke" || s == "execute-api:*" || s == "*";
  };
  if (action.is_array())
    return std::any_of(action.as_array().begin(), action.as_array().end(), one);
  return one(action);
}

Status checkContext(const json::value* context, bool any_json, json::object& out) {
  if (context == nullptr || context->is_null()) return okStatus();
  if (!context->is_object()) return Error::invalid("the authorizer's \"context\" is not an object");
  for (const auto& [k, v] : context->as_object())
    if (!any_json && !(v.is_string() || v.is_number() || v.is_bool()))
      return Error::invalid(
          fmt::format("the authorizer's context value \"{}\" is not a string, number or boolean",
                      std::string_view(k)));
  out = context->as_object();
  return okStatus();
}

}  // namespace

Result<IdentitySource> parseIdentitySource(std::string_view expression) {
  IdentitySource s;
  s.expression = std::string(expression);
  auto take = [&](std::string_view prefix, IdentitySource::Kind kind) {
    if (!expression.starts_with(prefix)) return false;
    s.kind = kind;
    s.name = std::string(expression.substr(prefix.size()));
    return true;
  };
  bool known = take("$request.header.", IdentitySource::Kind::kHeader) ||
               take("$request.querystring.", IdentitySource::Kind::kQuery) ||
               take("$stageVariables.", IdentitySource::Kind::kStageVariable) ||
               take("$context.", IdentitySource::Kind::kContext);
  if (!known || s.name.empty() || s.name.size() > 128 ||
      !std::all_of(s.name.begin(), s.name.end(), isNameChar))
    return Error::invalid(fmt::format(
        "identity source \"{}\" is not one of $request.header.NAME, $request.querystring.NAME, "
        "$stageVariables.NAME, $context.NAME",
        expression.substr(0, 160)));
  if (s.kind == IdentitySource::Kind::kHeader) s.name = lower(s.name);
  return s;
}

Result<std::vector<AuthorizerConfig>> parseAuthorizers(const json::value& value) {
  if (!value.is_array()) return Error::invalid("\"authorizers\" must be an array");
  const auto& arr = value.as_array();
  if (arr.size() > kMaxAuthorizers)
    return Error::invalid(fmt::format("an API has at most {} authorizers", kMaxAuthorizers));
  std::vector<AuthorizerConfig> out;
  std::set<std::string> names;
  for (size_t i = 0; i < arr.size(); ++i) {
    GUST_ASSIGN_OR_RETURN(auto a, parseAuthorizer(arr[i], fmt::format("authorizers[{}]", i)));
    if (!names.insert(a.name).second)
      return Error::invalid(fmt::format("two authorizers are named \"{}\"", a.name));
    out.push_back(std::move(a));
  }
  return out;
}

json::array authorizersToJson(const std::vector<AuthorizerConfig>& authorizers) {
  json::array out;
  for (const auto& a : authorizers) {
    json::object o;
    o["name"] = a.name;
    json::array sources;
    for (const auto& s : a.identity_source) sources.emplace_back(s.expression);
    o["identity_source"] = std::move(sources);
    if (a.type == AuthorizerConfig::Type::kJwt) {
      o["type"] = "jwt";
      o["issuer"] = a.jwt.issuer;
      json::array aud;
      for (const auto& s : a.jwt.audience) aud.emplace_back(s);
      o["audience"] = std::move(aud);
      if (!a.jwt.jwks_file.empty()) o["jwks_file"] = a.jwt.jwks_file;
      if (!a.jwt.jwks.empty()) o["jwks"] = json::parse(a.jwt.jwks);
      if (!a.jwt.public_key_pem.empty()) o["public_key_pem"] = a.jwt.public_key_pem;
      if (!a.jwt.hmac_secret.empty()) o["hmac_secret"] = a.jwt.hmac_secret;
    } else {
      o["type"] = "lambda";
      o["function"] = a.lambda.qualifier.empty() ? a.lambda.function
                                                 : a.lambda.function + ":" + a.lambda.qualifier;
      o["payload_format"] = a.lambda.payload_format;
      o["simple_responses"] = a.lambda.simple_responses;
      o["result_ttl_seconds"] = a.lambda.result_ttl_seconds;
    }
    out.emplace_back(std::move(o));
  }
  return out;
}

Result<jwt::KeySet> inlineKeys(const JwtAuthorizerConfig& config) {
  jwt::KeySet keys;
  if (!config.jwks.empty()) {
    GUST_ASSIGN_OR_RETURN(auto k, jwt::KeySet::fromJwks(config.jwks));
    keys.merge(k);
  }
  if (!config.public_key_pem.empty()) {
    GUST_ASSIGN_OR_RETURN(auto k, jwt::KeySet::fromPem(config.public_key_pem));
    keys.merge(k);
  }
  if (!config.hmac_secret.empty()) {
    GUST_ASSIGN_OR_RETURN(auto k, jwt::KeySet::fromSecret(config.hmac_secret));
    keys.merge(k);
  }
  return keys;
}

std::optional<std::vector<std::string>> identityValues(const std::vector<IdentitySource>& sources,
                                                       const IdentityInput& input) {
  std::vector<std::string> values;
  for (const auto& s : sources) {
    std::optional<std::string> v;
    switch (s.kind) {
      case IdentitySource::Kind::kHeader:
        v = input.header(s.name);
        break;
      case IdentitySource::Kind::kQuery:
        v = input.query(s.name);
        break;
      case IdentitySource::Kind::kStageVariable:
        v = input.stage_variable(s.name);
        break;
      case IdentitySource::Kind::kContext:
        v = input.context(s.name);
        break;
    }
    if (!v || v->empty()) return std::nullopt;
    values.push_back(std::move(*v));
  }
  return values;
}

std::string_view bearerToken(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.size() > 7 && lower(value.substr(0, 7)) == "bearer ") value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

std::string routeArn(std::string_view region, std::string_view account, std::string_view api_id,
                     std::string_view stage, std::string_view method, std::string_view path) {
  std::string arn = fmt::format("arn:aws:execute-api:{}:{}:{}/{}/", region, account, api_id, stage);
  if (method.empty()) return arn + "$default";
  std::string_view p = path;
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  return fmt::format("{}{}/{}", arn, method, p);
}

std::string authorizerEvent(std::string_view proxy_event_json, std::string_view payload_format,
                            std::string_view route_arn, const std::vector<std::string>& identity) {
  boost::system::error_code ec;
  json::value parsed = json::parse(proxy_event_json, ec);
  json::object event = !ec && parsed.is_object() ? std::move(parsed.as_object()) : json::object();
  event.erase("body");
  event.erase("isBase64Encoded");
  event["type"] = "REQUEST";
  if (payload_format == "1.0") {
    event["version"] = "1.0";
    event["methodArn"] = route_arn;
    std::string joined = fmt::format("{}", fmt::join(identity, ","));
    event["identitySource"] = joined;
    event["authorizationToken"] = joined;
  } else {
    event["routeArn"] = route_arn;
    json::array sources;
    for (const auto& v : identity) sources.emplace_back(v);
    event["identitySource"] = std::move(sources);
  }
  return json::serialize(event);
}

bool AuthorizerDecision::allows(std::string_view route_arn) const {
  if (is_authorized) return *is_authorized;
  bool allowed = false;
  for (const auto& s : statements) {
    bool matches = std::any_of(s.resources.begin(), s.resources.end(),
                               [&](const std::string& r) { return wildcardMatch(r, route_arn); });
    if (!matches) continue;
    if (!s.allow) return false;  // an explicit Deny wins
    allowed = true;
  }
  return allowed;
}

Result<AuthorizerDecision> parseAuthorizerResponse(std::string_view payload, bool simple,
                                                   std::string_view payload_format) {
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return Error::invalid("the authorizer's answer is not a JSON object");
  const auto& o = v.as_object();
  AuthorizerDecision d;
  if (simple) {
    const auto* ok = o.if_contains("isAuthorized");
    if (ok == nullptr || !ok->is_bool())
      return Error::invalid("the authorizer's answer has no boolean \"isAuthorized\"");
    d.is_authorized = ok->as_bool();
    GUST_TRY(checkContext(o.if_contains("context"), true, d.context));
    return d;
  }
  if (const auto* p = o.if_contains("principalId")) {
    if (!p->is_string()) return Error::invalid("the authorizer's \"principalId\" is not a string");
    d.principal_id = p->as_string();
  }
  const auto* doc = o.if_contains("policyDocument");
  if (doc == nullptr || !doc->is_object())
    return Error::invalid("the authorizer's answer has no \"policyDocument\" object");
  const auto* statements = doc->as_object().if_contains("Statement");
  if (statements == nullptr || (!statements->is_array() && !statements->is_object()))
    return Error::invalid("the authorizer's policyDocument has no \"Statement\"");
  json::array list = statements->is_array() ? statements->as_array() : json::array{*statements};
  for (const auto& st : list) {
    if (!st.is_object()) return Error::invalid("a policy statement is not an object");
    const auto& so = st.as_object();
    const auto* effect = so.if_contains("Effect");
    const auto* action = so.if_contains("Action");
    const auto* resource = so.if_contains("Resource");
    if (effect == nullptr || !effect->is_string() ||
        (effect->as_string() != "Allow" && effect->as_string() != "Deny"))
      return Error::invalid("a policy statement's \"Effect\" is not \"Allow\" or \"Deny\"");
    if (action == nullptr || resource == nullptr)
      return Error::invalid("a policy statement needs \"Action\" and \"Resource\"");
    if (!allowsInvoke(*action)) continue;  // about another action: no say on this request
    AuthorizerDecision::Statement s;
    s.allow = effect->as_string() == "Allow";
    if (resource->is_string()) {
      s.resources.emplace_back(resource->as_string());
    } else {
      auto r = stringArray(*resource, "a policy statement's \"Resource\"");
      if (!r.ok()) return r.error();
      s.resources = std::move(*r);
    }
    d.statements.push_back(std::move(s));
  }
  GUST_TRY(checkContext(o.if_contains("context"), payload_format == "2.0", d.context));
  return d;
}

json::object jwtAuthorizerContext(const jwt::Validated& token,
                                  std::string_view integration_format) {
  json::object claims;
  for (auto& [k, v] : jwt::claimStrings(token.claims)) claims[k] = v;
  json::value scopes = nullptr;
  if (!token.scopes.empty()) {
    json::array a;
    for (const auto& s : token.scopes) a.emplace_back(s);
    scopes = std::move(a);
  }
  json::object inner{{"claims", std::move(claims)}, {"scopes", std::move(scopes)}};
  if (integration_format == "1.0") return inner;
  return json::object{{"jwt", std::move(inner)}};
}

json::object lambdaAuthorizerContext(const AuthorizerDecision& decision,
                                     std::string_view integration_format) {
  if (integration_format == "1.0") {
    json::object out = decision.context;
    if (!decision.principal_id.empty()) out["principalId"] = decision.principal_id;
    out["integrationLatency"] = 0;
    return out;
  }
  return json::object{{"lambda", decision.context}};
}

bool wildcardMatch(std::string_view pattern, std::string_view text) {
  // Iterative glob with backtracking to the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace gust::apigw
