// The Lambda Runtime API on the host side. Everything happens in poll() over the listener, the
// runtime's connections, its exit descriptor and its output pipes, inside the caller's thread and
// within the caller's deadline; no request from the runtime can make us block or allocate beyond
// the API's own limits (a request head of 64 KiB, a body of 6 MiB + 100 bytes).
#include "runtime/runtime_api.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/unique_fd.h"

namespace gust::runtime {

struct RuntimeApiClient::Connection {
  UniqueFd fd;
  std::string in;
  std::string out;
  bool close_after_flush = false;
  bool parked = false;  // its GET /next waits for an invocation: no further requests until then
  size_t discard = 0;   // bytes of a refused (oversize) body still to be read and dropped
};

namespace {

constexpr std::string_view kPrefix = "/2018-06-01/runtime/";
// A runtime needs one or two connections; more than this is a runaway client.
constexpr size_t kMaxConnections = 16;
// Error bodies (/error, /init/error) are bounded like results.
constexpr size_t kMaxBodyBytes = kMaxResultBytes;
// How long a runtime that reported an init error may take to exit before it is killed.
constexpr std::chrono::milliseconds kInitErrorExitWait{500};

int pollTimeoutMs(Deadline deadline) {
  auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, INT32_MAX));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Request Entity Too Large";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Internal Server Error";
  }
}

// Lambda accepts error types matching (Runtime|Function)\.[A-Z][a-zA-Z]+ and maps the rest.
std::string validErrorType(std::string_view type) {
  auto matches = [&](std::string_view prefix) {
    if (!type.starts_with(prefix) || type.size() < prefix.size() + 2) return false;
    std::string_view rest = type.substr(prefix.size());
    if (!std::isupper(static_cast<unsigned char>(rest[0]))) return false;
    return std::all_of(rest.begin(), rest.end(),
                       [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  };
  if (matches("Runtime.") || matches("Function.")) return std::string(type);
  return type.starts_with("Function.") ? "Function.Unknown" : "Runtime.Unknown";
}

// The error as the caller sees it: the runtime's JSON object as sent, or one built from the
// header when the body is not a JSON object.
InvokeOutput errorOutput(std::string body, std::string_view header_type) {
  InvokeOutput out;
  out.function_error = true;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto* type = v.as_object().if_contains("errorType");
    out.error_type = type != nullptr && type->is_string() ? std::string(type->as_string())
                                                          : validErrorType(header_type);
    out.payload = std::move(body);
    return out;
  }
  out.error_type = validErrorType(header_type);
  boost::json::object o;
  o["errorType"] = out.error_type;
  o["errorMessage"] = body;
  out.payload = boost::json::serialize(o);
  return out;
}

}  // namespace

Result<std::optional<HttpRequestHead>> parseRequestHead(std::string_view buffer) {
  size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buffer.size() > kMaxRequestHeadBytes)
      return Error::tooLarge("the request head is over 64 KiB");
    return std::optional<HttpRequestHead>();
  }
  if (end + 4 > kMaxRequestHeadBytes) return Error::tooLarge("the request head is over 64 KiB");
  HttpRequestHead head;
  head.head_bytes = end + 4;
  std::string_view rest = buffer.substr(0, end + 2);
  auto nextLine = [&]() {
    size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    return line;
  };
  std::string_view request_line = nextLine();
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return Error::invalid("malformed request line");
  head.method = std::string(request_line.substr(0, sp1));
  head.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = request_line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return Error::invalid("unsupported HTTP version");
  head.keep_alive = version == "HTTP/1.1";
  if (head.method.empty() || head.target.empty() || head.target[0] != '/')
    return Error::invalid("malformed request line");
  while (!rest.empty()) {
    std::string_view line = nextLine();
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Error::invalid("malformed header");
    std::string name = lower(line.substr(0, colon));
    if (name.find_first_of(" \t") != std::string::npos) return Error::invalid("malformed header");
    head.headers[name] = std::string(trim(line.substr(colon + 1)));
  }
  if (auto it = head.headers.find("content-length"); it != head.headers.end()) {
    const std::string& v = it->second;
    if (v.empty() || v.size() > 15 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Error::invalid("malformed Content-Length");
    head.content_length = std::stoull(v);
  }
  if (auto it = head.headers.find("transfer-encoding"); it != head.headers.end())
    head.chunked = lower(it->second) != "identity";
  if (auto it = head.headers.find("connection"); it != head.headers.end()) {
    std::string v = lower(it->second);
    if (v == "close") head.keep_alive = false;
    if (v == "keep-alive") head.keep_alive = true;
  }
  return std::optional<HttpRequestHead>(std::move(head));
}

RuntimeApiClient::RuntimeApiClient(int listen_fd, int exit_fd, int stdout_fd, int stderr_fd,
                                   size_t max_log_bytes)
    : InstanceClient(stdout_fd, stderr_fd, max_log_bytes),
      listen_fd_(listen_fd),
      exit_fd_(exit_fd) {}

RuntimeApiClient::~RuntimeApiClient() = default;

void RuntimeApiClient::respond(Connection& conn, int status, std::string_view body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out =
      fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\n", status, reason(status));
  for (const auto& [name, value] : headers) out += fmt::format("{}: {}\r\n", name, value);
  if (conn.close_after_flush) out += "Connection: close\r\n";
  out += fmt::format("Content-Length: {}\r\n\r\n", body.size());
  conn.out += out;
  conn.out += body;
  flush(conn);
}

void RuntimeApiClient::respondError(Connection& conn, int status, std::string_view type,
                                    std::string_view message) {
  boost::json::object o;
  o["errorMessage"] = message;
  o["errorType"] = type;
  respond(conn, status, boost::json::serialize(o));
}

bool RuntimeApiClient::flush(Connection& conn) {
  while (!conn.out.empty()) {
    ssize_t n =
        ::send(conn.fd.get(), conn.out.data(), conn.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      conn.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return !conn.close_after_flush || conn.discard > 0;
}

void RuntimeApiClient::acceptAll() {
  while (connections_.size() < kMaxConnections) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error the next poll retries
    auto conn = std::make_unique<Connection>();
    conn->fd = UniqueFd(fd);
    connections_.push_back(std::move(conn));
  }
}

bool RuntimeApiClient::readFrom(Connection& conn) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(conn.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      size_t dropped = std::min(conn.discard, static_cast<size_t>(n));
      conn.discard -= dropped;
      conn.in.append(buf + dropped, static_cast<size_t>(n) - dropped);
      // Stop reading once a whole request may be buffered; handleRequests bounds the rest.
      if (conn.in.size() > kMaxRequestHeadBytes + kMaxBodyBytes) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;  // EOF or reset: the runtime closed the connection
  }
  handleRequests(conn);
  return true;
}

void RuntimeApiClient::handleRequests(Connection& conn) {
  while (!conn.parked && !conn.close_after_flush && conn.discard == 0) {
    auto head = parseRequestHead(conn.in);
    if (!head.ok()) {
      conn.close_after_flush = true;
      bool too_large = head.error().code == ErrorCode::kTooLarge;
      respondError(conn, too_large ? 431 : 400, "InvalidRequest", head.error().message);
      return;
    }
    if (!*head) return;
    const HttpRequestHead& h = **head;
    if (h.chunked) {
      conn.close_after_flush = true;
      respondError(conn, 411, "InvalidRequest",
                   "chunked request bodies are not supported; send a Content-Length");
      return;
    }
    if (h.content_length > kMaxBodyBytes) {
      // Refused at once; the body is read and dropped (never buffered) so that a client that
      // sends it all before reading the answer still gets the 413.
      if (phase_ == Phase::kInvoking &&
          h.target == fmt::format("{}invocation/{}/response", kPrefix, request_id_))
        too_large_ = true;
      size_t have = std::min(conn.in.size() - h.head_bytes, h.content_length);
      conn.discard = h.content_length - have;
      conn.in.erase(0, h.head_bytes + have);
      if (!h.keep_alive) conn.close_after_flush = true;
      respondError(
          conn, 413, "RequestEntityTooLarge",
          fmt::format("Exceeded maximum allowed payload size ({} bytes).", kMaxResultBytes));
      continue;
    }
    if (conn.in.size() < h.head_bytes + h.content_length) return;
    std::string body = conn.in.substr(h.head_bytes, h.content_length);
    conn.in.erase(0, h.head_bytes + h.content_length);
    if (!h.keep_alive) conn.close_after_flush = true;
    handle(conn, h, std::move(body));
  }
}

void RuntimeApiClient::handle(Connection& conn, const HttpRequestHead& head, std::string body) {
  std::string_view target = head.target;
  if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  auto header = [&](const char* name) {
    auto it = head.headers.find(name);
    return it == head.headers.end() ? std::string() : it->second;
  };
  auto requireMethod = [&](std::string_view method) {
    if (head.method == method) return true;
    respondError(conn, 405, "InvalidRequest",
                 fmt::format("{} {} is not allowed; use {}", head.method, target, method));
    return false;
  };
  if (!target.starts_with(kPrefix)) {
    respondError(
        conn, 404, "InvalidRequest",
        fmt::format("unknown path {}; the Runtime API lives under /2018-06-01/runtime/", target));
    return;
  }
  std::string_view path = target.substr(kPrefix.size());

  if (path == "invocation/next") {
    if (!requireMethod("GET")) return;
    if (phase_ == Phase::kInvoking || parked_next_ != nullptr) {
      respondError(conn, 403, "InvalidStateTransition",
                   phase_ == Phase::kInvoking
                       ? "an invocation is in progress: post its response or error before "
                         "asking for the next one"
                       : "a request for the next invocation is already waiting");
      return;
    }
    phase_ = Phase::kIdle;  // the first /next ends init
    conn.parked = true;
    parked_next_ = &conn;
    return;
  }
  if (path == "init/error") {
    if (!requireMethod("POST")) return;
    if (phase_ != Phase::kInit) {
      respondError(conn, 403, "InvalidStateTransition",
                   "init errors can only be reported before the first /next");
      return;
    }
    init_error_ =
        errorOutput(std::move(body), header("lambda-runtime-function-error-type")).payload;
    respond(conn, 202, R"({"status":"OK"})");
    return;
  }
  constexpr std::string_view kInvocation = "invocation/";
  if (path.starts_with(kInvocation)) {
    std::string_view rest = path.substr(kInvocation.size());
    size_t slash = rest.find('/');
    std::string_view id = rest.substr(0, slash);
    std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (!id.empty() && (action == "response" || action == "error")) {
      if (!requireMethod("POST")) return;
      if (phase_ == Phase::kInit) {
        respondError(conn, 403, "InvalidStateTransition",
                     "no invocation was delivered yet: call /runtime/invocation/next first");
        return;
      }
      if (phase_ != Phase::kInvoking || id != request_id_) {
        respondError(conn, 400, "InvalidRequestID",
                     fmt::format("invalid request id {}: it is unknown or already answered", id));
        return;
      }
      if (action == "response") {
        if (auto mode = header("lambda-runtime-function-response-mode");
            !mode.empty() && mode != "buffered") {
          respondError(conn, 400, "InvalidFunctionResponseMode",
                       fmt::format("response mode {} is not supported", mode));
          return;
        }
        InvokeOutput out;
        out.payload = std::move(body);
        outcome_ = std::move(out);
      } else {
        outcome_ = errorOutput(std::move(body), header("lambda-runtime-function-error-type"));
      }
      respond(conn, 202, R"({"status":"OK"})");
      return;
    }
  }
  respondError(conn, 404, "InvalidRequest",
               fmt::format("unknown path {}; see the Lambda Runtime API", target));
}

void RuntimeApiClient::checkExit() {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(exit_fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) continue;  // a custom runtime has nothing to say on the channel: ignored
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break;
  }
  // Exited. Requests it sent before exiting may still sit in the backlog or in sockets: handle
  // them first (e.g. POST /init/error followed by exit).
  acceptAll();
  for (auto& conn : connections_) readFrom(*conn);
  exited_ = true;
}

template <typename Done>
Status RuntimeApiClient::serveUntil(Done done, Deadline deadline) {
  for (;;) {
    if (done()) return okStatus();
    if (exited_) return Error::unavailable("the runtime exited (it closed its connection)");
    int timeout = pollTimeoutMs(deadline);
    if (timeout == 0)
      return Error{ErrorCode::kDeadlineExceeded, "the instance missed its deadline"};
    std::vector<pollfd> fds;
    fds.reserve(4 + connections_.size());
    fds.push_back(
        {listen_fd_, static_cast<short>(connections_.size() < kMaxConnections ? POLLIN : 0), 0});
    fds.push_back({exit_fd_, POLLIN, 0});
    fds.push_back({stdout_fd_, POLLIN, 0});
    fds.push_back({stderr_fd_, POLLIN, 0});
    for (const auto& conn : connections_) {
      short events = conn->close_after_flush && conn->discard == 0 ? 0 : POLLIN;
      if (!conn->out.empty()) events |= POLLOUT;
      fds.push_back({conn->fd.get(), events, 0});
    }
    int rc = ::poll(fds.data(), fds.size(), timeout);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno("poll on the Runtime API", errno);
    }
    if (fds[2].revents != 0) drainLogs(stdout_fd_);
    if (fds[3].revents != 0) drainLogs(stderr_fd_);
    // Connections first (indices match: new ones are appended after).
    size_t count = connections_.size();
    std::vector<bool> keep(count, true);
    for (size_t i = 0; i < count; ++i) {
      short revents = fds[4 + i].revents;
      if (revents == 0) continue;
      Connection& conn = *connections_[i];
      if ((revents & POLLOUT) != 0 && !flush(conn)) keep[i] = false;
      if (keep[i] && (revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !readFrom(conn))
        keep[i] = false;
      if (conn.close_after_flush && conn.out.empty() && conn.discard == 0) keep[i] = false;
    }
    for (size_t i = count; i-- > 0;) {
      if (keep[i]) continue;
      if (parked_next_ == connections_[i].get()) parked_next_ = nullptr;
      connections_.erase(connections_.begin() + static_cast<ptrdiff_t>(i));
    }
    if (fds[0].revents != 0) {
      size_t before = connections_.size();
      acceptAll();
      // Data may already be waiting on the new connections.
      for (size_t i = before; i < connections_.size(); ++i) readFrom(*connections_[i]);
    }
    if (fds[1].revents != 0) checkExit();
  }
}

Result<std::optional<std::string>> RuntimeApiClient::awaitInit(Deadline deadline) {
  Status served =
      serveUntil([&] { return phase_ != Phase::kInit || init_error_.has_value(); }, deadline);
  if (init_error_) {
    // A runtime exits right after reporting its init error: give it a moment, so what it
    // printed on the way out is part of the init logs.
    Deadline exit_wait = std::min(deadline, std::chrono::steady_clock::now() + kInitErrorExitWait);
    (void)serveUntil([&] { return exited_; }, exit_wait);
    drainAllLogs();
    return std::optional<std::string>(*init_error_);
  }
  drainAllLogs();
  if (!served.ok()) {
    // The engine recognises this compact error and reports how the runtime exited.
    if (served.error().code == ErrorCode::kUnavailable)
      return std::optional<std::string>(
          R"({"errorMessage":"Runtime exited during initialization","errorType":"Runtime.ExitError"})");
    return served.error();
  }
  return std::optional<std::string>();
}

Result<InvokeOutput> RuntimeApiClient::invoke(const InvokeMeta& meta, std::string_view payload,
                                              Deadline deadline) {
  if (phase_ != Phase::kIdle)
    return Error::internal("the custom runtime is not ready for an invocation");
  // The runtime asks for work with GET /next, usually already parked.
  GUST_TRY(serveUntil([&] { return parked_next_ != nullptr; }, deadline));
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Lambda-Runtime-Aws-Request-Id", meta.request_id},
      {"Lambda-Runtime-Deadline-Ms", std::to_string(meta.deadline_ms)},
      {"Lambda-Runtime-Invoked-Function-Arn", meta.invoked_function_arn},
  };
  if (!meta.trace_id.empty()) headers.emplace_back("Lambda-Runtime-Trace-Id", meta.trace_id);
  if (!meta.client_context.empty())
    headers.emplace_back("Lambda-Runtime-Client-Context", meta.client_context);
  if (!meta.cognito_identity.empty())
    headers.emplace_back("Lambda-Runtime-Cognito-Identity", meta.cognito_identity);
  Connection& conn = *parked_next_;
  parked_next_ = nullptr;
  conn.parked = false;
  request_id_ = meta.request_id;
  phase_ = Phase::kInvoking;
  outcome_.reset();
  too_large_ = false;
  respond(conn, 200, payload.empty() ? std::string_view("{}") : payload, headers);
  // Requests pipelined behind the /next are handled now that it is answered.
  handleRequests(conn);

  Status served = serveUntil([&] { return outcome_.has_value() || too_large_; }, deadline);
  drainAllLogs();
  if (!served.ok()) return served.error();
  phase_ = Phase::kIdle;
  request_id_.clear();
  if (too_large_)
    return Error::tooLarge(fmt::format("the response is over {} bytes", kMaxResultBytes));
  InvokeOutput out = std::move(*outcome_);
  outcome_.reset();
  return out;
}

}  // namespace gust::runtime
