// How the CLI finds and talks to the server: endpoint, token, and error decoding for both APIs
// it uses (the control API's {"code","message"} and the Lambda API's x-amzn-ErrorType +
// {"Type","message"}), turned into messages that say what to do.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output.h"
#include "common/result.h"
#include "http/http.h"

namespace CLI {
class App;
}

namespace gust::cli {

struct ClientOptions {
  std::string endpoint;  // empty: $GUST_ENDPOINT or http://127.0.0.1:8080
  std::string data_dir;  // empty: $GUST_DATA_DIR or ./.gust (for the token file)
};

// Adds --endpoint and --data-dir to a subcommand.
void addClientOptions(CLI::App& command, ClientOptions& options);

// Adds the subcommand `name` under `parent` with the client options and, when `output` is set
// (a command that prints data), --output. Positional arguments are the caller's to add.
CLI::App* addServerCommand(CLI::App& parent, const char* name, const char* description,
                           ClientOptions& client, OutputFormat* output);

class Client {
 public:
  // Resolves the endpoint and the token ($GUST_TOKEN, else <data-dir>/token).
  static Result<Client> connect(const ClientOptions& options);

  // Sends an authenticated request. A non-2xx answer becomes an Error carrying the server's
  // message (for the Lambda API, "<x-amzn-ErrorType>: <message>") and a hint where one helps;
  // 2xx answers are returned as they are.
  Result<http::Response> call(std::string method, std::string target, std::string body,
                              std::chrono::milliseconds timeout,
                              std::vector<http::Header> headers = {}) const;
  const std::string& endpointUrl() const { return url_; }

 private:
  http::Endpoint endpoint_;
  std::string url_;
  std::string token_;
  std::string token_source_;  // "$GUST_TOKEN" or the token file's path, for error hints
};

// Decodes a non-2xx answer into an Error (exposed for tests). `token_source` names where the
// token came from, for the hint of a rejected token.
Error errorFromResponse(const http::Response& response, std::string_view token_source);

// The Lambda API path of a function, e.g. /2015-03-31/functions/hello (name percent-encoded).
std::string lambdaFunctionPath(std::string_view name, std::string_view api_date = "2015-03-31");

// "?Qualifier=<q>" (encoded), or "" when `qualifier` is empty.
std::string qualifierQuery(std::string_view qualifier);

// Prints "gust: error: <message>" to stderr and returns kExitError.
int reportError(const Error& error);

}  // namespace gust::cli
