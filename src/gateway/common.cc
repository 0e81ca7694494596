#include "gateway/common.h"

#include <boost/json.hpp>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/thread_pool.h"
#include "control/function_service.h"

namespace gust::gateway {
namespace {

namespace json = boost::json;

constexpr size_t kLogTailBytes = 4096;  // Lambda's X-Amz-Log-Result: the last 4 KB

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a query component ('+' is a space); nullopt if malformed.
std::optional<std::string> decodeQueryComponent(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

int statusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kFailedPrecondition:
      return 412;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
  }
  return 500;
}

}  // namespace

http::Response errorResponse(const Error& error) {
  json::object body{{"code", errorCodeName(error.code)}, {"message", error.message}};
  return http::Response::json(statusFor(error.code), json::serialize(body));
}

http::Response errorResponse(ErrorCode code, std::string message) {
  return errorResponse(Error{code, std::move(message)});
}

Result<std::map<std::string, std::string>> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = decodeQueryComponent(pair.substr(0, eq));
    auto value = decodeQueryComponent(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key || !value)
      return Error::invalid(
          fmt::format("query parameter '{}' is not percent-encoded correctly", pair.substr(0, 64)));
    out[*key] = *value;
  }
  return out;
}

void offload(ThreadPool& pool, http::Responder respond, std::function<http::Response()> work) {
  pool.post([respond = std::move(respond), work = std::move(work)] { respond(work()); });
}

std::string logTail(std::string_view logs) {
  if (logs.size() > kLogTailBytes) logs = logs.substr(logs.size() - kLogTailBytes);
  return base64Encode(logs);
}

Result<std::shared_ptr<const engine::FunctionSpec>> specFor(control::FunctionService& functions,
                                                            const store::FunctionRecord& record,
                                                            std::optional<int> reserved,
                                                            int provisioned) {
  GUST_ASSIGN_OR_RETURN(auto code_dir, functions.codeDir(record));
  auto spec = std::make_shared<engine::FunctionSpec>();
  spec->name = record.name;
  spec->version = record.version;
  spec->runtime = record.runtime;
  spec->handler = record.handler;
  spec->memory_mb = record.memory_mb;
  spec->timeout_s = record.timeout_s;
  spec->environment = record.environment;
  spec->code_dir = std::move(code_dir);
  spec->code_sha256 = record.code_sha256;
  spec->revision = record.revision;
  spec->reserved_concurrency = reserved;
  spec->provisioned_concurrency = provisioned;
  spec->ephemeral_storage_mb = record.ephemeral_storage_mb;
  spec->network = record.network == "egress" ? sandbox::Network::kEgress : sandbox::Network::kNone;
  spec->invokes = record.invokes;
  return std::shared_ptr<const engine::FunctionSpec>(std::move(spec));
}

}  // namespace gust::gateway
