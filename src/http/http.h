// HTTP/1.1 server and client. The only component that includes Boost.Asio/Beast; this header
// exposes plain types so the rest of Gust never pays for those headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::http {

struct Header {
  std::string name;  // lower-case on requests the server parsed and responses the client read
  std::string value;
};

struct Request {
  std::string method;  // upper-case, e.g. "GET"
  std::string target;  // as received, e.g. "/api/v1/functions/f?x=1"
  std::string path;    // percent-decoded path, e.g. "/api/v1/functions/f"
  std::string query;   // raw query without '?', e.g. "x=1"
  std::vector<Header> headers;
  std::string body;
  std::string remote_address;

  // First header with this (lower-case) name.
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view lower_name) const;
  // A response with Content-Type: application/json.
  static Response json(int status, std::string body);
};

// Must be called exactly once per request, from any thread.
using Responder = std::function<void(Response)>;
// Called on a server I/O thread for each request; it must not block for long (hand slow work to
// another thread and respond from there).
using Handler = std::function<void(Request&&, Responder)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (see Server::port)
  int io_threads = 2;
  uint64_t max_body_bytes = 80ull << 20;  // larger bodies: 413
  uint32_t max_header_bytes = 16 * 1024;  // larger headers: 431
  // A client must send a whole request within this time, and a kept-alive connection is closed
  // after being idle this long, so slow or half-open clients cannot pin the server.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Builds the answer to a request the server refuses itself (413 body too large, 431 headers
  // too large, 400 malformed), given the request target when it was read (else empty), so the
  // application can answer in its own error shape. Unset: {"code", "message"} JSON.
  std::function<Response(std::string_view target, int status, std::string_view message)> refusal;
  // false: the server binds no socket of its own (address and port are unused) and serves only
  // the listeners given to Server::adopt().
  bool listen = true;
};

// A listener a server adopted. Destroying it stops accepting on it (at once, from any thread);
// connections already accepted are served to their end.
class AdoptedListener {
 public:
  virtual ~AdoptedListener() = default;
};

// Thread-safety: port() and stop() may be called from any thread. The destructor stops.
class Server {
 public:
  virtual ~Server() = default;
  // Starts listening and serving; returns once the socket is bound.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);
  virtual uint16_t port() const = 0;
  // Serves `handler` also on `listen_fd`, a listening TCP socket made elsewhere (e.g. inside
  // another network namespace), with this server's options and threads. The fd is duplicated:
  // the caller keeps its own. kInvalidArgument if it is not a listening TCP socket.
  virtual Result<std::unique_ptr<AdoptedListener>> adopt(int listen_fd, Handler handler) = 0;
  // Stops accepting, closes connections, joins the I/O threads. Idempotent.
  virtual void stop() = 0;
};

struct Endpoint {
  std::string host;
  uint16_t port = 80;
};

// Parses "http://host:port" (no path, no https). The error says what form is expected.
Result<Endpoint> parseEndpoint(std::string_view url);

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<Header> headers;
  std::string body;
};

// One request on a fresh connection. kUnavailable if the server cannot be reached,
// kDeadlineExceeded after `timeout`. HTTP error statuses are ok Results.
Result<Response> fetch(const Endpoint& endpoint, const ClientRequest& request,
                       std::chrono::milliseconds timeout);

// Percent-encodes a path segment (RFC 3986 unreserved characters stay as they are).
std::string encodePathSegment(std::string_view segment);

}  // namespace gust::http
