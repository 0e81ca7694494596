// The host side of the Lambda Runtime API (version 2018-06-01) for custom runtimes (`provided`):
// a small HTTP/1.1 server on the listener the sandbox created (SpawnSpec::runtime_api), driven
// synchronously from awaitInit()/invoke() like the frame client, so the engine treats a custom
// runtime like any other instance. Endpoints, headers and error bodies follow AWS's Runtime
// Interface Emulator; see api/runtime-protocol.md ("Custom runtimes").
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/runtime.h"

namespace gust::runtime {

// The head of one HTTP/1.x request.
struct HttpRequestHead {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased, values trimmed
  size_t head_bytes = 0;                       // request line + headers + the blank line
  size_t content_length = 0;
  bool chunked = false;  // Transfer-Encoding: chunked (not supported by this server)
  bool keep_alive = true;
};

inline constexpr size_t kMaxRequestHeadBytes = 64 * 1024;

// Parses the head at the start of `buffer` (bytes from an untrusted runtime). Ok(nullopt) while
// it is incomplete; kTooLarge past kMaxRequestHeadBytes; kInvalidArgument when malformed.
Result<std::optional<HttpRequestHead>> parseRequestHead(std::string_view buffer);

// Serves the Runtime API of one instance. `listen_fd` is the sandbox's non-blocking listener;
// `exit_fd` is a descriptor that reaches EOF when the instance exits (its channel socket); both
// and the output pipes stay owned by the sandbox::Process. Not thread-safe.
//
// States: init (until the first GET /next, which means INIT_OK, or POST /init/error) -> idle
// (a /next may be parked) -> invoking (the parked /next got the event; until POST
// /{id}/response or /{id}/error) -> idle. Requests that do not fit the state get 403
// InvalidStateTransition; a response for another id gets 400 InvalidRequestID.
class RuntimeApiClient final : public InstanceClient {
 public:
  RuntimeApiClient(int listen_fd, int exit_fd, int stdout_fd, int stderr_fd,
                   size_t max_log_bytes = 256 * 1024);
  ~RuntimeApiClient() override;

  Result<std::optional<std::string>> awaitInit(Deadline deadline) override;
  Result<InvokeOutput> invoke(const InvokeMeta& meta, std::string_view payload,
                              Deadline deadline) override;

  struct Connection;

 private:
  enum class Phase { kInit, kIdle, kInvoking };

  // Serves requests until `done()` holds. kDeadlineExceeded at the deadline; kUnavailable once
  // the instance has exited (after everything it sent before exiting was handled).
  template <typename Done>
  Status serveUntil(Done done, Deadline deadline);
  void acceptAll();
  // Reads what the connection has and handles the complete requests in it; false to close it.
  bool readFrom(Connection& conn);
  void handleRequests(Connection& conn);
  void handle(Connection& conn, const HttpRequestHead& head, std::string body);
  void respond(Connection& conn, int status, std::string_view body,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  void respondError(Connection& conn, int status, std::string_view type, std::string_view message);
  // Writes what the socket takes now; false if the peer is gone.
  bool flush(Connection& conn);
  void checkExit();

  int listen_fd_;
  int exit_fd_;
  bool exited_ = false;
  std::vector<std::unique_ptr<Connection>> connections_;
  Connection* parked_next_ = nullptr;  // a GET /next waiting for an invocation
  Phase phase_ = Phase::kInit;
  std::string request_id_;  // the invocation in flight (kInvoking)
  std::optional<std::string> init_error_;
  std::optional<InvokeOutput> outcome_;
  bool too_large_ = false;
};

}  // namespace gust::runtime
