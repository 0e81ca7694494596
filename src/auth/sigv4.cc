#include "auth/sigv4.h"

#include <time.h>

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json/serialize.hpp>

#include "common/crypto.h"

namespace gust::auth {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";

// Lambda's messages, word for word (sources in src/auth/README.md).
constexpr std::string_view kMissingToken = "Missing Authentication Token";
constexpr std::string_view kInvalidToken = "The security token included in the request is invalid.";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

AuthFailure incomplete(std::string message) {
  return {403, "IncompleteSignatureException", std::move(message)};
}
AuthFailure invalidSignature(std::string message) {
  return {403, "InvalidSignatureException", std::move(message)};
}
AuthFailure unrecognizedClient() {
  return {403, "UnrecognizedClientException", std::string(kInvalidToken)};
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// AWS's Trimall: no leading or trailing whitespace, inner runs of it become one space.
void appendTrimAll(std::string& out, std::string_view value) {
  bool pending_space = false;
  for (char c : trim(value)) {
    if (isSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
}

char asciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

// The values of every header called `name` (any case), in the order received.
std::vector<std::string_view> headerValues(const SigV4Request& request, std::string_view name) {
  std::vector<std::string_view> values;
  for (const auto& [n, v] : request.headers)
    if (equalsIgnoreCase(n, name)) values.push_back(v);
  return values;
}

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Percent-encodes every byte but RFC 3986's unreserved characters (and '/' if asked), with
// upper-case hex, as AWS's UriEncode does.
void appendUriEncoded(std::string& out, std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (isUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; a '%' not followed by two hex digits stays literal. '+' stays '+': SigV4
// clients encode a space as %20.
std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    parts.push_back(
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Keeps messages that quote client input readable and bounded.
std::string quoted(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  return out;
}

std::string credentialScopeString(std::string_view date, std::string_view region,
                                  std::string_view service) {
  return fmt::format("{}/{}/{}/{}", date, region, service, kTerminator);
}

std::string payloadHashFor(const SigV4Request& request) {
  auto sent = headerValues(request, "x-amz-content-sha256");
  if (!sent.empty()) return std::string(trim(sent.front()));
  return sha256Hex(request.body);
}

}  // namespace

std::string AuthFailure::body() const {
  return "{\"message\":" + boost::json::serialize(boost::json::string_view(message)) + "}";
}

AuthResult<ParsedAuthorization> parseAuthorization(std::string_view value) {
  value = trim(value);
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (value.size() > kAlgorithm.size() && !isSpace(value[kAlgorithm.size()]))) {
    return incomplete(
        "Authorization header is not AWS Signature Version 4: it must start with "
        "'AWS4-HMAC-SHA256 ' followed by Credential, SignedHeaders and Signature.");
  }
  std::optional<std::string_view> credential, signed_headers, signature;
  // Parameters are separated by commas and/or whitespace, as AWS reads them: in "Credential=AKID
  // /2015...", the part after the stray space is a parameter without '='.
  std::string_view rest = value.substr(kAlgorithm.size());
  while (!rest.empty()) {
    size_t end = 0;
    while (end < rest.size() && rest[end] != ',' && !isSpace(rest[end])) ++end;
    std::string_view piece = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      return incomplete(fmt::format(
          "'{}' not a valid key=value pair (missing equal-sign) in Authorization header.",
          quoted(piece)));
    }
    std::string_view key = piece.substr(0, eq);
    std::string_view val = piece.substr(eq + 1);
    std::optional<std::string_view>* slot = key == "Credential"      ? &credential
                                            : key == "SignedHeaders" ? &signed_headers
                                            : key == "Signature"     ? &signature
                                                                     : nullptr;
    if (slot == nullptr) continue;  // other parameters carry nothing SigV4 needs
    if (slot->has_value()) {
      return incomplete(
          fmt::format("Authorization header has more than one '{}' parameter.", quoted(key)));
    }
    *slot = val;
  }
  std::vector<std::string> missing;
  if (!credential || credential->empty())
    missing.push_back("Authorization header requires 'Credential' parameter.");
  if (!signature || signature->empty())
    missing.push_back("Authorization header requires 'Signature' parameter.");
  if (!signed_headers || signed_headers->empty())
    missing.push_back("Authorization header requires 'SignedHeaders' parameter.");
  if (!missing.empty()) return incomplete(fmt::format("{}", fmt::join(missing, " ")));

  auto scope = split(*credential, '/');
  if (scope.size() != 5) {
    return incomplete(
        fmt::format("Credential '{}' is malformed: expected "
                    "'<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request'.",
                    quoted(*credential)));
  }
  ParsedAuthorization parsed;
  parsed.access_key_id = std::string(scope[0]);
  parsed.date = std::string(scope[1]);
  parsed.region = std::string(scope[2]);
  parsed.service = std::string(scope[3]);
  parsed.terminator = std::string(scope[4]);
  parsed.signed_headers = std::string(*signed_headers);
  for (std::string_view name : split(*signed_headers, ';')) {
    if (name.empty()) {
      return incomplete(
          fmt::format("SignedHeaders '{}' is malformed: expected header names separated by ';'.",
                      quoted(*signed_headers)));
    }
    parsed.signed_header_names.emplace_back(name);
  }
  parsed.signature = std::string(*signature);
  return parsed;
}

std::string canonicalUri(std::string_view raw_path) {
  // Remove dot segments and empty segments (repeated slashes), as botocore's
  // normalize_url_path and the JS SDK's getCanonicalPath do, keeping a leading and a trailing
  // slash.
  std::vector<std::string_view> segments;
  for (std::string_view segment : split(raw_path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string normalized;
  if (raw_path.empty() || raw_path.front() == '/') normalized.push_back('/');
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) normalized.push_back('/');
    normalized.append(segments[i]);
  }
  if (!raw_path.empty() && raw_path.back() == '/' && !segments.empty()) normalized.push_back('/');
  // Only a relative path (never an HTTP request target) can normalise to nothing.
  if (normalized.empty()) normalized.push_back('/');

  std::string out;
  out.reserve(normalized.size() + 16);
  appendUriEncoded(out, normalized, /*keep_slash=*/true);
  return out;
}

std::string canonicalQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (std::string_view piece : split(raw_query, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string name, value;
    appendUriEncoded(name, percentDecode(piece.substr(0, eq)), /*keep_slash=*/false);
    if (eq != std::string_view::npos)
      appendUriEncoded(value, percentDecode(piece.substr(eq + 1)), /*keep_slash=*/false);
    params.emplace_back(std::move(name), std::move(value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string canonicalRequest(const SigV4Request& request, std::string_view signed_headers,
                             const std::vector<std::string>& signed_header_names,
                             std::string_view payload_hash) {
  std::string out;
  out.reserve(256 + request.path.size() + request.query.size());
  out.append(request.method);
  out.push_back('\n');
  out += canonicalUri(request.path);
  out.push_back('\n');
  out += canonicalQuery(request.query);
  out.push_back('\n');
  for (const std::string& name : signed_header_names) {
    out += lower(name);
    out.push_back(':');
    bool first = true;
    for (std::string_view v : headerValues(request, name)) {
      if (!first) out.push_back(',');
      first = false;
      appendTrimAll(out, v);
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  out.append(signed_headers);
  out.push_back('\n');
  out.append(payload_hash);
  return out;
}

std::string stringToSign(std::string_view amz_date, std::string_view date, std::string_view region,
                         std::string_view service, std::string_view canonical_request) {
  return fmt::format("{}\n{}\n{}\n{}", kAlgorithm, amz_date,
                     credentialScopeString(date, region, service), sha256Hex(canonical_request));
}

std::string signature(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service, std::string_view string_to_sign) {
  std::string key = hmacSha256(std::string("AWS4").append(secret), date);
  key = hmacSha256(key, region);
  key = hmacSha256(key, service);
  key = hmacSha256(key, kTerminator);
  return hmacSha256Hex(key, string_to_sign);
}

std::string authorizationHeader(const SigV4Request& request, std::string_view access_key_id,
                                std::string_view secret, std::string_view region,
                                std::string_view service,
                                const std::vector<std::string>& signed_header_names) {
  auto dates = headerValues(request, "x-amz-date");
  GUST_CHECK(!dates.empty(), "authorizationHeader needs an X-Amz-Date header in the request");
  std::string amz_date(trim(dates.front()));
  std::string date = amz_date.substr(0, 8);
  std::string signed_headers = fmt::format("{}", fmt::join(signed_header_names, ";"));
  std::string canonical =
      canonicalRequest(request, signed_headers, signed_header_names, payloadHashFor(request));
  std::string sig = signature(secret, date, region, service,
                              stringToSign(amz_date, date, region, service, canonical));
  return fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                     access_key_id, credentialScopeString(date, region, service), signed_headers,
                     sig);
}

std::string amzDate(std::chrono::system_clock::time_point t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, n);
}

bool parseAmzDate(std::string_view s, std::chrono::system_clock::time_point& out) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return false;
  auto number = [&](size_t pos, size_t len, int& value) {
    value = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      value = value * 10 + (s[i] - '0');
    }
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!number(0, 4, year) || !number(4, 2, month) || !number(6, 2, day) || !number(9, 2, hour) ||
      !number(11, 2, minute) || !number(13, 2, second))
    return false;
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t secs = timegm(&tm);
  // timegm normalises out-of-range fields (Feb 30 → Mar 2): a real date survives unchanged.
  struct tm back {};
  if (secs == static_cast<time_t>(-1) || gmtime_r(&secs, &back) == nullptr ||
      back.tm_year != year - 1900 || back.tm_mon != month - 1 || back.tm_mday != day ||
      back.tm_hour != hour || back.tm_min != minute || back.tm_sec != second)
    return false;
  out = std::chrono::system_clock::from_time_t(secs);
  return true;
}

AuthResult<SigV4Identity> verify(const SigV4Request& request, const SecretLookup& lookup,
                                 std::chrono::system_clock::time_point now,
                                 const SigV4Options& options) {
  auto authorizations = headerValues(request, "authorization");
  if (authorizations.empty())
    return AuthFailure{403, "MissingAuthenticationTokenException", std::string(kMissingToken)};
  if (authorizations.size() > 1) return incomplete("Only one Authorization header is allowed.");
  auto parsed = parseAuthorization(authorizations.front());
  if (!parsed.ok()) return parsed.failure();
  const ParsedAuthorization& auth = *parsed;

  auto dates = headerValues(request, "x-amz-date");
  if (dates.empty()) {
    // AWS would also take a Date header; none of the clients Gust serves sends one.
    return incomplete("Authorization header requires existence of a 'X-Amz-Date' header.");
  }
  if (dates.size() > 1) return incomplete("Only one X-Amz-Date header is allowed.");
  std::string_view amz_date = trim(dates.front());
  std::chrono::system_clock::time_point signed_at;
  if (!parseAmzDate(amz_date, signed_at)) {
    return incomplete(fmt::format(
        "X-Amz-Date '{}' is malformed: expected the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'.",
        quoted(amz_date)));
  }

  if (auth.terminator != kTerminator) {
    return invalidSignature(fmt::format(
        "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
        quoted(auth.terminator)));
  }
  if (auth.service != options.service) {
    return invalidSignature(
        fmt::format("Credential should be scoped to correct service: '{}'. ", options.service));
  }
  if (auth.region.empty())
    return invalidSignature("Credential should be scoped to a valid region, not ''. ");
  if (auth.date != amz_date.substr(0, 8)) {
    return invalidSignature(fmt::format(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '{}' != '{}', from '{}'.",
        quoted(auth.date), amz_date.substr(0, 8), amz_date));
  }
  bool host_signed = std::any_of(auth.signed_header_names.begin(), auth.signed_header_names.end(),
                                 [](const std::string& n) { return equalsIgnoreCase(n, "host"); });
  if (!host_signed) return incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  auto sha_headers = headerValues(request, "x-amz-content-sha256");
  if (sha_headers.size() > 1) return incomplete("Only one X-Amz-Content-SHA256 header is allowed.");

  // Gust issues long-term keys only; a session token can only belong to someone else.
  if (!headerValues(request, "x-amz-security-token").empty()) return unrecognizedClient();

  Result<std::string> secret = lookup(auth.access_key_id);
  if (!secret.ok()) {
    if (secret.error().code == ErrorCode::kNotFound) return unrecognizedClient();
    return AuthFailure{500, "ServiceException",
                       "Gust could not look up the access key: " + secret.error().message};
  }

  auto skew = options.max_skew;
  auto minutes = std::chrono::duration_cast<std::chrono::minutes>(skew).count();
  if (signed_at < now - skew) {
    return invalidSignature(
        fmt::format("Signature expired: {} is now earlier than {} ({} - {} min.)", amz_date,
                    amzDate(now - skew), amzDate(now), minutes));
  }
  if (signed_at > now + skew) {
    return invalidSignature(
        fmt::format("Signature not yet current: {} is still later than {} ({} + {} min.)", amz_date,
                    amzDate(now + skew), amzDate(now), minutes));
  }

  std::string payload_hash = payloadHashFor(request);
  std::string canonical =
      canonicalRequest(request, auth.signed_headers, auth.signed_header_names, payload_hash);
  std::string expected =
      signature(*secret, auth.date, auth.region, auth.service,
                stringToSign(amz_date, auth.date, auth.region, auth.service, canonical));
  if (!constantTimeEquals(expected, auth.signature))
    return invalidSignature(std::string(kSignatureMismatch));

  // The signature covers the hash the client sent; the body must be what was hashed.
  if (!sha_headers.empty() && payload_hash != sha256Hex(request.body)) {
    if (payload_hash == "UNSIGNED-PAYLOAD" || payload_hash.starts_with("STREAMING-")) {
      return invalidSignature(fmt::format(
          "X-Amz-Content-SHA256 '{}' is not supported: sign the payload (send its SHA-256).",
          quoted(payload_hash)));
    }
    return invalidSignature(
        "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return SigV4Identity{auth.access_key_id, auth.region};
}

}  // namespace gust::auth
