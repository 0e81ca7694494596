// How the CLI finds and talks to the server: endpoint, token, error decoding.
#pragma once

#include <chrono>
#include <string>

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

class Client {
 public:
  // Resolves the endpoint and the token ($GUST_TOKEN, else <data-dir>/token).
  static Result<Client> connect(const ClientOptions& options);

  // Sends an authenticated request. A non-2xx answer becomes an Error carrying the server's
  // message; 2xx answers are returned as they are.
  Result<http::Response> call(std::string method, std::string target, std::string body,
                              std::chrono::milliseconds timeout,
                              std::vector<http::Header> headers = {}) const;
  const std::string& endpointUrl() const { return url_; }

 private:
  http::Endpoint endpoint_;
  std::string url_;
  std::string token_;
};

// Prints "gust: error: <message>" to stderr and returns kExitError.
int reportError(const Error& error);

}  // namespace gust::cli
