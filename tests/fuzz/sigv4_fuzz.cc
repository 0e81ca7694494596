// Fuzzes AWS Signature Version 4 verification: the Authorization-header parser, the canonical
// URI, query and request builders and verify() itself, all of which see unauthenticated input.
//
// Input layout (so a corpus file is a readable request): line 1 is the Authorization value,
// line 2 the raw path, line 3 the raw query, then "name: value" header lines up to an empty line,
// then the body.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/sigv4.h"

namespace {

std::string_view nextLine(std::string_view& in) {
  size_t end = in.find('\n');
  std::string_view line = in.substr(0, end);
  in.remove_prefix(end == std::string_view::npos ? in.size() : end + 1);
  return line;
}

bool isCanonicalChar(char c, std::string_view extra) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~' || c == '%' || extra.find(c) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view authorization = nextLine(in);
  std::string_view path = nextLine(in);
  std::string_view query = nextLine(in);

  gust::auth::SigV4Request request{"POST", path, query, {}, {}};
  request.headers.emplace_back("Authorization", authorization);
  while (!in.empty()) {
    std::string_view line = nextLine(in);
    if (line.empty()) break;
    size_t colon = line.find(':');
    request.headers.emplace_back(line.substr(0, colon),
                                 colon == std::string_view::npos ? "" : line.substr(colon + 1));
  }
  request.body = in;

  // Canonical forms contain only unreserved characters, escapes and their separators, and
  // canonicalising is idempotent on them.
  std::string uri = gust::auth::canonicalUri(path);
  for (char c : uri)
    if (!isCanonicalChar(c, "/")) __builtin_trap();
  if (uri.empty() || ((path.empty() || path[0] == '/') && uri[0] != '/')) __builtin_trap();
  std::string q = gust::auth::canonicalQuery(query);
  for (char c : q)
    if (!isCanonicalChar(c, "=&")) __builtin_trap();

  auto parsed = gust::auth::parseAuthorization(authorization);
  if (parsed.ok()) {
    if (parsed->signed_header_names.empty()) __builtin_trap();
    (void)gust::auth::canonicalRequest(request, parsed->signed_headers, parsed->signed_header_names,
                                       "UNSIGNED-PAYLOAD");
  }

  auto lookup = [](std::string_view id) -> gust::Result<std::string> {
    if (id == "GKIAIOSFODNN7EXAMPLE")
      return std::string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    return gust::Error::notFound("unknown");
  };
  std::chrono::system_clock::time_point now;
  gust::auth::parseAmzDate("20261124T120000Z", now);
  auto result = gust::auth::verify(request, lookup, now);
  if (!result.ok()) {
    const auto& f = result.failure();
    if (f.error_type.empty() || f.message.empty() || (f.status != 403 && f.status != 500))
      __builtin_trap();
    (void)f.body();
  }
  return 0;
}
