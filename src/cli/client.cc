#include "cli/client.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "cli/cli.h"
#include "common/files.h"

namespace gust::cli {
namespace {

std::string envOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

ErrorCode codeFromName(std::string_view name) {
  for (auto code :
       {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kAlreadyExists,
        ErrorCode::kUnauthenticated, ErrorCode::kPermissionDenied, ErrorCode::kTooLarge,
        ErrorCode::kResourceExhausted, ErrorCode::kDeadlineExceeded, ErrorCode::kUnavailable}) {
    if (errorCodeName(code) == name) return code;
  }
  return ErrorCode::kInternal;
}

}  // namespace

void addClientOptions(CLI::App& command, ClientOptions& options) {
  command.add_option("--endpoint", options.endpoint,
                     "Server URL (default: $GUST_ENDPOINT or http://127.0.0.1:8080)");
  command.add_option(
      "--data-dir", options.data_dir,
      "Server data directory holding the token (default: $GUST_DATA_DIR or ./.gust)");
}

Result<Client> Client::connect(const ClientOptions& options) {
  Client client;
  client.url_ =
      options.endpoint.empty() ? envOr("GUST_ENDPOINT", "http://127.0.0.1:8080") : options.endpoint;
  GUST_ASSIGN_OR_RETURN(client.endpoint_, http::parseEndpoint(client.url_));
  client.token_ = envOr("GUST_TOKEN", "");
  if (client.token_.empty()) {
    std::filesystem::path dir =
        options.data_dir.empty() ? envOr("GUST_DATA_DIR", "./.gust") : options.data_dir;
    auto token = readFile(dir / "token");
    if (!token) {
      return Error{ErrorCode::kUnauthenticated,
                   fmt::format("no API token: {}; set GUST_TOKEN, or pass --data-dir with the "
                               "server's data directory (the server writes its token there)",
                               token.error().message)};
    }
    client.token_ = trim(std::move(*token));
  }
  return client;
}

Result<http::Response> Client::call(std::string method, std::string target, std::string body,
                                    std::chrono::milliseconds timeout,
                                    std::vector<http::Header> headers) const {
  http::ClientRequest req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.body = std::move(body);
  req.headers = std::move(headers);
  req.headers.push_back({"Authorization", "Bearer " + token_});
  if (!req.body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  auto res = http::fetch(endpoint_, req, timeout);
  if (!res) {
    if (res.error().code == ErrorCode::kUnavailable) {
      return Error::unavailable(fmt::format(
          "{}; is the server running? Start it with `make run` or `gust serve`, or point "
          "--endpoint / GUST_ENDPOINT at it",
          res.error().message));
    }
    return std::move(res).error();
  }
  if (res->status >= 200 && res->status < 300) return res;
  // The server's errors are {"code": ..., "message": ...}.
  boost::json::error_code ec;
  auto parsed = boost::json::parse(res->body, ec);
  if (!ec && parsed.is_object()) {
    const auto& obj = parsed.as_object();
    // A throttled invoke answers Lambda's fields with our explanation in "detail".
    const auto* message = obj.if_contains("detail");
    if (!message || !message->is_string()) message = obj.if_contains("message");
    const auto* code = obj.if_contains("code");
    if (message && message->is_string()) {
      return Error{
          code && code->is_string() ? codeFromName(code->as_string()) : ErrorCode::kInternal,
          std::string(message->as_string())};
    }
  }
  return Error::internal(fmt::format("server answered HTTP {}: {}", res->status, res->body));
}

int reportError(const Error& error) {
  fmt::print(stderr, "gust: error: {}\n", error.message);
  return kExitError;
}

}  // namespace gust::cli
