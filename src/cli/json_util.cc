#include "cli/json_util.h"

#include <boost/json.hpp>

#include <fmt/format.h>

namespace gust::cli {

namespace json = boost::json;

Result<json::object> parseObject(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return Error::internal(fmt::format(
        "unexpected answer from the server (not a JSON object): {}; is --endpoint a Gust server?",
        body.substr(0, 200)));
  return std::move(v.get_object());
}

std::string stringField(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t intField(const json::object& o, std::string_view key, int64_t fallback) {
  const auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return fallback;
}

const json::object& objectField(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? v->get_object() : kEmpty;
}

const json::array& arrayField(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->get_array() : kEmpty;
}

json::value jsonOrString(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
}

void printJson(const json::value& value) { fmt::print("{}\n", json::serialize(value)); }

namespace {

void pretty(const json::value& v, int depth, std::string& out) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(d) * 2, ' ');
  };
  if (v.is_object() && !v.get_object().empty()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : v.get_object()) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      out += json::serialize(json::string(key));
      out += ": ";
      pretty(value, depth + 1, out);
    }
    newline(depth);
    out += '}';
  } else if (v.is_array() && !v.get_array().empty()) {
    out += '[';
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      pretty(item, depth + 1, out);
    }
    newline(depth);
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string prettyJson(const json::value& value) {
  std::string out;
  pretty(value, 0, out);
  return out;
}

}  // namespace gust::cli
