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

namespace json = boost::json;

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
        ErrorCode::kFailedPrecondition, ErrorCode::kUnauthenticated, ErrorCode::kPermissionDenied,
        ErrorCode::kTooLarge, ErrorCode::kResourceExhausted, ErrorCode::kDeadlineExceeded,
        ErrorCode::kUnavailable}) {
    if (errorCodeName(code) == name) return code;
  }
  return ErrorCode::kInternal;
}

ErrorCode codeFromStatus(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kAlreadyExists;
    case 412:
      return ErrorCode::kFailedPrecondition;
    case 413:
      return ErrorCode::kTooLarge;
    case 429:
      return ErrorCode::kResourceExhausted;
    case 503:
      return ErrorCode::kUnavailable;
    case 504:
      return ErrorCode::kDeadlineExceeded;
    default:
      return ErrorCode::kInternal;
  }
}

std::string stringField(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string tokenHint(std::string_view token_source) {
  return fmt::format(
      "the server rejected the API token from {}; use the token of the server you are talking "
      "to: pass --data-dir with its data directory (it keeps the token in <data-dir>/token) or "
      "set GUST_TOKEN to that file's content",
      token_source);
}

// What to do after a Lambda API error of `type`, or "".
std::string lambdaHint(std::string_view type) {
  if (type == "ResourceNotFoundException")
    return "`gust ls` lists the functions, `gust describe NAME` a function's versions and aliases";
  if (type == "TooManyRequestsException")
    return "retry later, or change the function's reservation with `gust concurrency reserved "
           "set|rm NAME`";
  if (type == "PreconditionFailedException")
    return "someone changed it meanwhile: read it again and retry";
  if (type == "ServiceException") return "the server failed; its log says why";
  return "";
}

}  // namespace

void addClientOptions(CLI::App& command, ClientOptions& options) {
  command.add_option("--endpoint", options.endpoint,
                     "Server URL (default: $GUST_ENDPOINT or http://127.0.0.1:8080)");
  command.add_option(
      "--data-dir", options.data_dir,
      "Server data directory holding the token (default: $GUST_DATA_DIR or ./.gust)");
}

CLI::App* addServerCommand(CLI::App& parent, const char* name, const char* description,
                           ClientOptions& client, OutputFormat* output) {
  auto* cmd = parent.add_subcommand(name, description);
  if (output) addOutputOption(*cmd, *output);
  addClientOptions(*cmd, client);
  return cmd;
}

Result<Client> Client::connect(const ClientOptions& options) {
  Client client;
  client.url_ =
      options.endpoint.empty() ? envOr("GUST_ENDPOINT", "http://127.0.0.1:8080") : options.endpoint;
  GUST_ASSIGN_OR_RETURN(client.endpoint_, http::parseEndpoint(client.url_));
  client.token_ = envOr("GUST_TOKEN", "");
  client.token_source_ = "$GUST_TOKEN";
  if (client.token_.empty()) {
    std::filesystem::path dir =
        options.data_dir.empty() ? envOr("GUST_DATA_DIR", "./.gust") : options.data_dir;
    client.token_source_ = (dir / "token").string();
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
          "cannot reach the server at {}: {}; is it running? Start it with `gust serve` (or "
          "`make run`), or point --endpoint / GUST_ENDPOINT at it",
          url_, res.error().message));
    }
    return std::move(res).error();
  }
  if (res->status >= 200 && res->status < 300) return res;
  return errorFromResponse(*res, token_source_);
}

Error errorFromResponse(const http::Response& res, std::string_view token_source) {
  json::error_code ec;
  json::value parsed = json::parse(res.body, ec);
  const json::object* body = !ec && parsed.is_object() ? &parsed.get_object() : nullptr;
  std::string type(res.header("x-amzn-errortype").value_or(""));
  type = type.substr(0, type.find(':'));  // AWS may append ":<url>"
  if (!type.empty()) {
    // The Lambda API: {"Type": "User"|"Service", "message": ...}.
    std::string message = body ? stringField(*body, "message") : std::string();
    if (message.empty() && body) message = stringField(*body, "Message");
    if (message.empty()) message = res.body.substr(0, 500);
    std::string text = fmt::format("{}: {}", type, message);
    if (body) {
      // A throttled invoke names Lambda's Reason, and Gust explains it in "detail".
      std::string reason = stringField(*body, "Reason");
      std::string detail = stringField(*body, "detail");
      if (!reason.empty()) text += fmt::format(" ({})", reason);
      if (!detail.empty()) text += fmt::format(": {}", detail);
    }
    // Gust adds its own error code to Lambda's body; other servers leave the status to go by.
    std::string code_name = body ? stringField(*body, "code") : std::string();
    ErrorCode code = code_name.empty() ? codeFromStatus(res.status) : codeFromName(code_name);
    std::string hint = lambdaHint(type);
    if (type == "UnrecognizedClientException" || type == "MissingAuthenticationTokenException" ||
        code == ErrorCode::kUnauthenticated) {
      code = ErrorCode::kUnauthenticated;
      hint = tokenHint(token_source);
    }
    if (!hint.empty()) text += "; " + hint;
    return Error{code, std::move(text)};
  }
  if (body) {
    // The control API: {"code": ..., "message": ...}.
    std::string message = stringField(*body, "message");
    std::string code_name = stringField(*body, "code");
    if (!message.empty()) {
      ErrorCode code = code_name.empty() ? codeFromStatus(res.status) : codeFromName(code_name);
      if (res.status == 401) {
        return Error{ErrorCode::kUnauthenticated,
                     fmt::format("{}; {}", message, tokenHint(token_source))};
      }
      if (res.status == 404 && message.starts_with("no route for")) {
        return Error{ErrorCode::kNotFound,
                     fmt::format("{}; the server does not know this request: it is probably "
                                 "older than this gust CLI, so upgrade and restart `gust serve`",
                                 message)};
      }
      return Error{code, std::move(message)};
    }
  }
  return Error{codeFromStatus(res.status),
               fmt::format("the server answered HTTP {}: {}", res.status,
                           res.body.empty() ? std::string("(no body)") : res.body.substr(0, 500))};
}

std::string lambdaFunctionPath(std::string_view name, std::string_view api_date) {
  return fmt::format("/{}/functions/{}", api_date, http::encodePathSegment(name));
}

std::string qualifierQuery(std::string_view qualifier) {
  return qualifier.empty() ? std::string() : "?Qualifier=" + http::encodePathSegment(qualifier);
}

int reportError(const Error& error) {
  fmt::print(stderr, "gust: error: {}\n", error.message);
  return kExitError;
}

}  // namespace gust::cli
