// The host side of an instance's channel. All waiting happens in poll() over the channel and the
// two output pipes, so an instance that fills its stdout pipe while we wait for its result (or
// while we send a large event) never deadlocks, and every wait honours the caller's deadline.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "runtime/protocol.h"
#include "runtime/runtime.h"
#include "runtime/runtime_api.h"

namespace gust::runtime {
namespace {

// Upper bound of one drainLogs() call, so a process that writes endlessly cannot keep us from
// the channel or the deadline.
constexpr size_t kDrainChunkLimit = 1 << 20;

Error channelClosed() {
  return Error::unavailable("the instance closed its channel (it exited or crashed)");
}

int pollTimeoutMs(Deadline deadline) {
  auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  // Round up so we do not wake just before the deadline and spin.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, INT32_MAX));
}

std::string errorTypeOf(const std::string& error_json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(error_json, ec);
  if (ec || !v.is_object()) return {};
  const auto* type = v.as_object().if_contains("errorType");
  if (type == nullptr || !type->is_string()) return {};
  return std::string(type->as_string());
}

// An ERROR frame's meta {"exiting": true}: the runtime exits after this reply.
bool exitsAfterReply(const std::string& meta) {
  if (meta.empty()) return false;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(meta, ec);
  if (ec || !v.is_object()) return false;
  const auto* exiting = v.as_object().if_contains("exiting");
  return exiting != nullptr && exiting->is_bool() && exiting->as_bool();
}

}  // namespace

InstanceClient::InstanceClient(int stdout_fd, int stderr_fd, size_t max_log_bytes)
    : stdout_fd_(stdout_fd), stderr_fd_(stderr_fd), max_log_bytes_(max_log_bytes) {}

FrameClient::FrameClient(int channel_fd, int stdout_fd, int stderr_fd, size_t max_log_bytes)
    : InstanceClient(stdout_fd, stderr_fd, max_log_bytes), channel_fd_(channel_fd) {}

void InstanceClient::drainLogs(int& fd) {
  if (fd < 0) return;
  char buf[16384];
  size_t total = 0;
  while (total < kDrainChunkLimit) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fd = -1;
      return;
    }
    if (n == 0) {
      fd = -1;  // EOF: the instance (and everything it forked) closed its output
      return;
    }
    total += static_cast<size_t>(n);
    size_t room = max_log_bytes_ > logs_.size() ? max_log_bytes_ - logs_.size() : 0;
    size_t keep = std::min(room, static_cast<size_t>(n));
    logs_.append(buf, keep);
    dropped_log_bytes_ += static_cast<size_t>(n) - keep;
  }
}

void InstanceClient::drainAllLogs() {
  drainLogs(stdout_fd_);
  drainLogs(stderr_fd_);
}

Status FrameClient::waitChannel(short events, Deadline deadline) {
  for (;;) {
    int timeout = pollTimeoutMs(deadline);
    if (timeout == 0)
      return Error{ErrorCode::kDeadlineExceeded, "the instance missed its deadline"};
    pollfd fds[3] = {{channel_fd_, events, 0}, {stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
    int rc = ::poll(fds, 3, timeout);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno("poll on the instance channel", errno);
    }
    if (fds[1].revents != 0) drainLogs(stdout_fd_);
    if (fds[2].revents != 0) drainLogs(stderr_fd_);
    // POLLHUP/POLLERR count as ready: the following recv/send reports what happened.
    if (fds[0].revents != 0) return okStatus();
  }
}

Status FrameClient::writeAll(std::string_view data, Deadline deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n =
        ::send(channel_fd_, data.data() + sent, data.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      GUST_TRY(waitChannel(POLLOUT, deadline));
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return channelClosed();
    return Error::fromErrno("send to the instance", errno);
  }
  return okStatus();
}

Status FrameClient::readExact(char* out, size_t size, Deadline deadline) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::recv(channel_fd_, out + got, size - got, MSG_DONTWAIT);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return channelClosed();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      GUST_TRY(waitChannel(POLLIN, deadline));
      continue;
    }
    if (errno == ECONNRESET) return channelClosed();
    return Error::fromErrno("recv from the instance", errno);
  }
  return okStatus();
}

Result<Frame> FrameClient::readFrame(Deadline deadline) {
  char header_bytes[kFrameHeaderBytes];
  GUST_TRY(readExact(header_bytes, sizeof header_bytes, deadline));
  // Validated (including the length limit) before a byte of payload is allocated.
  auto header = decodeHeader(std::string_view(header_bytes, sizeof header_bytes));
  if (!header.ok()) {
    Error e = std::move(header).error();
    e.message = "protocol violation by the instance: " + e.message;
    return e;
  }
  std::string payload(header->length, '\0');
  GUST_TRY(readExact(payload.data(), payload.size(), deadline));
  Frame frame;
  frame.type = header->type;
  frame.seq = header->seq;
  frame.meta = payload.substr(0, header->meta_length);
  frame.body = payload.substr(header->meta_length);
  return frame;
}

Result<std::optional<std::string>> FrameClient::awaitInit(Deadline deadline) {
  auto frame = readFrame(deadline);
  drainAllLogs();
  if (!frame.ok()) {
    if (frame.error().code == ErrorCode::kUnavailable)
      return std::optional<std::string>(
          R"({"errorMessage":"Runtime exited during initialization","errorType":"Runtime.ExitError"})");
    return frame.error();
  }
  switch (frame->type) {
    case FrameType::kInitOk:
      return std::optional<std::string>();
    case FrameType::kInitError:
      return std::optional<std::string>(std::move(frame->body));
    default:
      return Error::internal(
          fmt::format("protocol violation by the instance: frame type {} "
                      "during init",
                      static_cast<int>(frame->type)));
  }
}

Status FrameClient::awaitReady(Deadline deadline) {
  GUST_ASSIGN_OR_RETURN(Frame frame, readFrame(deadline));
  if (frame.type != FrameType::kReady)
    return Error::internal(
        fmt::format("protocol violation by the instance: frame type {} before INIT; expected READY",
                    static_cast<int>(frame.type)));
  return okStatus();
}

Result<std::optional<std::string>> FrameClient::initialize(const std::vector<std::string>& env,
                                                           Deadline deadline) {
  boost::json::object vars;
  for (const std::string& kv : env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  Frame request;
  request.type = FrameType::kInit;
  request.meta = boost::json::serialize(boost::json::object{{"env", std::move(vars)}});
  GUST_ASSIGN_OR_RETURN(std::string bytes, encodeFrame(request));
  GUST_TRY(writeAll(bytes, deadline));
  return awaitInit(deadline);
}

Result<InvokeOutput> FrameClient::invoke(const InvokeMeta& meta, std::string_view payload,
                                         Deadline deadline) {
  ++seq_;
  boost::json::object m;
  m["request_id"] = meta.request_id;
  m["deadline_ms"] = meta.deadline_ms;
  m["invoked_function_arn"] = meta.invoked_function_arn;
  if (!meta.trace_id.empty()) m["trace_id"] = meta.trace_id;
  if (!meta.client_context.empty()) m["client_context"] = meta.client_context;
  if (!meta.cognito_identity.empty()) m["cognito_identity"] = meta.cognito_identity;

  Frame request;
  request.type = FrameType::kInvoke;
  request.seq = seq_;
  request.meta = boost::json::serialize(m);
  request.body.assign(payload);
  GUST_ASSIGN_OR_RETURN(std::string bytes, encodeFrame(request));
  GUST_TRY(writeAll(bytes, deadline));

  GUST_ASSIGN_OR_RETURN(Frame reply, readFrame(deadline));
  // Output written before the reply is already in the pipes: collect it with this invocation.
  drainAllLogs();
  if (reply.seq != seq_)
    return Error::internal(fmt::format(
        "protocol violation by the instance: reply for invocation {} while {} was outstanding",
        reply.seq, seq_));
  InvokeOutput out;
  switch (reply.type) {
    case FrameType::kResult:
      out.payload = std::move(reply.body);
      return out;
    case FrameType::kError:
      out.function_error = true;
      out.payload = std::move(reply.body);
      out.error_type = errorTypeOf(out.payload);
      out.runtime_exits = exitsAfterReply(reply.meta);
      return out;
    default:
      return Error::internal(
          fmt::format("protocol violation by the instance: frame type {} in reply to an invocation",
                      static_cast<int>(reply.type)));
  }
}

bool FrameClient::exited() {
  // Between invocations an instance writes nothing to its channel: what is there is its EOF.
  char byte;
  for (;;) {
    ssize_t n = ::recv(channel_fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return n == 0;
    if (errno == EINTR) continue;
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

std::string InstanceClient::takeLogs() {
  drainAllLogs();
  std::string out = std::move(logs_);
  logs_.clear();
  if (dropped_log_bytes_ > 0) {
    if (!out.empty() && out.back() != '\n') out.push_back('\n');
    out += fmt::format("[gust] {} bytes of output dropped: the limit is {} bytes per invocation\n",
                       dropped_log_bytes_, max_log_bytes_);
    dropped_log_bytes_ = 0;
  }
  return out;
}

std::unique_ptr<InstanceClient> makeInstanceClient(sandbox::Process& process,
                                                   size_t max_log_bytes) {
  if (process.runtimeApiListenFd() >= 0)
    return std::make_unique<RuntimeApiClient>(process.runtimeApiListenFd(), process.channelFd(),
                                              process.stdoutFd(), process.stderrFd(),
                                              max_log_bytes);
  return std::make_unique<FrameClient>(process.channelFd(), process.stdoutFd(), process.stderrFd(),
                                       max_log_bytes);
}

}  // namespace gust::runtime
