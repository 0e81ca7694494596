// Runtimes: how an instance of a function is started (command, environment) and the host side
// of talking to it (frames on the channel, logs from stdout/stderr).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/protocol.h"
#include "sandbox/sandbox.h"

namespace gust::runtime {

// The names accepted in a function's `runtime` field.
const std::vector<std::string>& supportedRuntimes();
bool isSupportedRuntime(std::string_view name);

// Lambda's default memory size, in MB.
inline constexpr int kDefaultMemoryMb = 128;

// What a runtime needs to know about the function to start an instance.
struct FunctionInfo {
  std::string name;
  std::string version = "$LATEST";
  std::string runtime;
  std::string handler;
  int memory_mb = kDefaultMemoryMb;
  int timeout_s = 3;
  std::map<std::string, std::string> environment;  // the function's own variables
  std::string region = "us-east-1";
};

struct LaunchCommand {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // the full environment: Lambda's variables + the function's own
  // The instance speaks the Lambda Runtime API over HTTP (the `provided` runtime) instead of
  // frames on fd 3: spawn it with SpawnSpec::runtime_api and talk to it through
  // makeInstanceClient(), which then serves the API on the sandbox's listener.
  bool runtime_api = false;
};

// Writes the runtimes' own files (e.g. python/bootstrap.py) under `dir`, read-only.
// Idempotent; called once when the server starts.
Status installRuntimeFiles(const std::filesystem::path& dir);

// Builds the command that starts one instance of `fn`, for a sandbox with `layout`.
// kInvalidArgument for an unknown runtime.
Result<LaunchCommand> launchCommand(const FunctionInfo& fn, const sandbox::Layout& layout);

// True if instances of `runtime` can start before their function is known (deferred init):
// started with launchGenericCommand(), given the code later, then told the function's
// environment with InstanceClient::initialize(). python3.11 and nodejs20.x.
bool supportsDeferredInit(std::string_view runtime);
// The pool of pre-started generic instances a function's cold start may take one from: a
// generic instance started for this key is indistinguishable, once initialised, from a fresh
// instance of the function. Empty if none can be: the runtime has no deferred init, or the
// function's environment sets a variable read only when a process starts (LD_*, MALLOC_*,
// GLIBC_TUNABLES, NODE_OPTIONS and Node's other start-up variables, OpenSSL's).
//   python3.11  "python3.11"
//   nodejs20.x  "nodejs20.x/<memory MB>": Node's heap limits are command-line flags sized from
//               the memory (as Lambda sizes them), fixed when V8 starts; one pool per size.
std::string genericPoolKey(std::string_view runtime, int memory_mb,
                           const std::map<std::string, std::string>& environment);
// The pools worth keeping before any function asked: each runtime's at kDefaultMemoryMb.
std::vector<std::string> defaultGenericPoolKeys();
// The command of a generic instance for `pool_key` (a genericPoolKey()), in deferred-init mode:
// the runtime loads itself and waits for an INIT frame. Its environment is minimal (PATH, LANG,
// TZ, the layout's directories, and Node's NODE_PATH, which is the same for every function); the
// function's comes with INIT. kInvalidArgument for a key no runtime makes.
Result<LaunchCommand> launchGenericCommand(std::string_view pool_key,
                                           const sandbox::Layout& layout);

// Per-invocation context sent to the instance.
struct InvokeMeta {
  std::string request_id;
  int64_t deadline_ms = 0;  // wall-clock epoch milliseconds
  std::string invoked_function_arn;
  std::string client_context;    // JSON text or empty
  std::string cognito_identity;  // JSON text or empty
  std::string trace_id;          // X-Ray trace header or empty (becomes _X_AMZN_TRACE_ID)
};

struct InvokeOutput {
  bool function_error = false;  // true: payload is the error JSON
  std::string payload;
  std::string error_type;  // from the error JSON, when function_error
  // The runtime exits after this reply (Node's, after an uncaught exception or an unhandled
  // rejection, as Lambda's does): the instance must not be reused.
  bool runtime_exits = false;
};

using Deadline = std::chrono::steady_clock::time_point;

// The host side of one instance: waits for init, runs invocations, collects stdout/stderr.
// Implementations drain stdout/stderr while waiting so the instance never blocks on a full pipe,
// and keep at most max_log_bytes of output per take (the rest is counted and replaced by a
// truncation note). Not thread-safe: one invocation at a time.
class InstanceClient {
 public:
  virtual ~InstanceClient() = default;
  InstanceClient(const InstanceClient&) = delete;
  InstanceClient& operator=(const InstanceClient&) = delete;

  // Waits for the instance to load its handler. Ok(nullopt) on success; Ok(error JSON) if the
  // runtime reported an init error or exited during init (then with errorType
  // Runtime.ExitError); kDeadlineExceeded on timeout.
  virtual Result<std::optional<std::string>> awaitInit(Deadline deadline) = 0;
  // For an instance started in deferred-init mode: waits until it has started and waits for
  // INIT (its READY frame). kUnavailable if it exited, kDeadlineExceeded on timeout.
  virtual Status awaitReady(Deadline deadline) {
    (void)deadline;
    return Error::unavailable("this runtime client cannot wait for a pre-started instance");
  }
  // For an instance started in deferred-init mode: sends INIT with `env` (the full environment,
  // "KEY=VALUE", as launchCommand() builds it), then waits as awaitInit() does. kUnavailable if
  // the instance is gone before INIT could be sent, or if the client does not support it.
  virtual Result<std::optional<std::string>> initialize(const std::vector<std::string>& env,
                                                        Deadline deadline) {
    (void)env;
    (void)deadline;
    return Error::unavailable("this runtime client cannot initialise a pre-started instance");
  }
  // Sends one invocation and waits for its outcome. kDeadlineExceeded on timeout; kUnavailable
  // if the instance exited or closed the channel (the message says so); kTooLarge for a result
  // over kMaxResultBytes; kInternal on a protocol violation. After any error the instance must
  // not be reused.
  virtual Result<InvokeOutput> invoke(const InvokeMeta& meta, std::string_view payload,
                                      Deadline deadline) = 0;
  // Non-blocking, between invocations: true if the instance closed its channel (its runtime
  // exited, or is exiting, while idle), so it cannot take another invocation.
  virtual bool exited() { return false; }
  // Output captured since the last call, in the order it was read.
  std::string takeLogs();

 protected:
  InstanceClient(int stdout_fd, int stderr_fd, size_t max_log_bytes);
  // Reads what `fd` has now (bounded, so a chatty instance cannot stall us); -1 after EOF.
  void drainLogs(int& fd);
  void drainAllLogs();

  int stdout_fd_;  // -1 once the pipe reached EOF
  int stderr_fd_;

 private:
  size_t max_log_bytes_;
  std::string logs_;
  size_t dropped_log_bytes_ = 0;
};

// The built-in runtimes' client: frames of protocol.h over the channel (fd 3 inside).
class FrameClient final : public InstanceClient {
 public:
  FrameClient(int channel_fd, int stdout_fd, int stderr_fd, size_t max_log_bytes = 256 * 1024);

  Result<std::optional<std::string>> awaitInit(Deadline deadline) override;
  Status awaitReady(Deadline deadline) override;
  Result<std::optional<std::string>> initialize(const std::vector<std::string>& env,
                                                Deadline deadline) override;
  Result<InvokeOutput> invoke(const InvokeMeta& meta, std::string_view payload,
                              Deadline deadline) override;
  bool exited() override;

 private:
  // Sends all of `data`, draining logs while the channel is full.
  Status writeAll(std::string_view data, Deadline deadline);
  // Reads exactly `size` bytes into `out`, draining logs while waiting.
  Status readExact(char* out, size_t size, Deadline deadline);
  // Reads one frame; the header is checked before the payload is allocated.
  Result<Frame> readFrame(Deadline deadline);
  // Polls the channel for `events` and the output pipes until the channel is ready.
  Status waitChannel(short events, Deadline deadline);

  int channel_fd_;
  uint64_t seq_ = 0;
};

// The client for `process`: a RuntimeApiClient (runtime_api.h) when the sandbox gave it a
// Runtime API listener, a FrameClient otherwise. The process must outlive the client.
std::unique_ptr<InstanceClient> makeInstanceClient(sandbox::Process& process,
                                                   size_t max_log_bytes = 256 * 1024);

}  // namespace gust::runtime
