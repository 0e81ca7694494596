#include "events/targets.h"

#include <algorithm>

#include <fmt/format.h>

namespace gust::events {
namespace {

bool isAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string quotedValue(std::string_view value) {
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < 64; ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  out += value.size() > 64 ? "...\"" : "\"";
  return out;
}

std::string normalQualifier(std::string_view qualifier) {
  return qualifier == "$LATEST" ? std::string() : std::string(qualifier);
}

Status checkTarget(store::Store* store, std::string_view function, std::string_view qualifier) {
  bool function_ok = !function.empty() && function.size() <= 64 &&
                     std::all_of(function.begin(), function.end(),
                                 [](char c) { return isAlnum(c) || c == '-' || c == '_'; });
  if (!function_ok)
    return Error::invalid(fmt::format(
        "function {} is not a function name; use the name of a deployed function (1 to 64 of "
        "A-Z, a-z, 0-9, '-' and '_')",
        quotedValue(function)));
  std::string q = normalQualifier(qualifier);
  bool qualifier_ok = q.size() <= 128 && std::all_of(q.begin(), q.end(), [](char c) {
                        return isAlnum(c) || c == '-' || c == '_';
                      });
  if (!qualifier_ok)
    return Error::invalid(fmt::format(
        "qualifier {} is not a version or alias name; use a version number such as 1, an alias "
        "such as live, or leave it out for $LATEST",
        quotedValue(qualifier)));
  if (!store) return okStatus();
  GUST_TRY(store->getFunction(function));
  if (allDigits(q)) {
    GUST_TRY(store->getVersion(function, q));
  } else if (!q.empty()) {
    GUST_TRY(store->getAlias(function, q));
  }
  return okStatus();
}

}  // namespace gust::events
