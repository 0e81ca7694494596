// The engine runs invocations on function instances: it finds an idle warm instance or starts
// a new one in a sandbox, sends the event, enforces the timeout and returns the outcome.
// One request per instance at a time; instances are reused warm and stopped after an idle
// keep-alive.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sandbox/sandbox.h"

namespace gust::engine {

// Everything the engine needs to run one version of a function.
struct FunctionSpec {
  std::string name;
  std::string version = "$LATEST";
  std::string runtime;
  std::string handler;
  int memory_mb = 128;
  int timeout_s = 3;
  std::map<std::string, std::string> environment;
  std::filesystem::path code_dir;  // extracted code on the host
  std::string code_sha256;
  int64_t revision = 0;  // instances started for another revision are never reused
  // At most this many invocations at once, kept out of the account's unreserved pool; nullopt:
  // unreserved. 0 throttles every invocation (Lambda's way to switch a function off).
  std::optional<int> reserved_concurrency;
  int provisioned_concurrency = 0;  // instances kept initialised (see Engine::configure)
  int ephemeral_storage_mb = 512;   // size of the instance's /tmp
  sandbox::Network network = sandbox::Network::kNone;
  // The functions its instances may invoke through Lambda's API inside their sandbox
  // (control::FunctionConfig::invokes); the engine only hands it on with the instance (see
  // EngineOptions::serve_lambda_api).
  std::vector<std::string> invokes;
};

// The deepest an invocation may be nested through Lambda's API inside sandboxes (A invokes B,
// which invokes C...): an invocation from outside has depth 0, one made by a function depth + 1
// of the invocation that function serves. Deeper ones are refused, which stops loops (A invokes
// B invokes A...).
inline constexpr int kMaxCascadeDepth = 16;

// Reasons of a throttled invocation (the start of the kResourceExhausted error's message), as
// Lambda's TooManyRequestsException names them.
inline constexpr std::string_view kAccountLimitReason = "ConcurrentInvocationLimitExceeded";
inline constexpr std::string_view kReservedLimitReason =
    "ReservedFunctionConcurrentInvocationLimitExceeded";
// The reason of an error invoke() reported for throttling, or empty for any other error.
std::string_view throttleReason(const Error& error);

struct InvokeRequest {
  std::shared_ptr<const FunctionSpec> function;
  std::string payload;         // the event (JSON text)
  std::string request_id;      // a UUID; the engine makes one if empty
  std::string client_context;  // JSON text (decoded from X-Amz-Client-Context) or empty
  std::string trace_id;        // X-Amzn-Trace-Id or empty; the handler sees _X_AMZN_TRACE_ID
  // The qualifier the caller named (an alias or version), appended to the invoked function ARN
  // the handler sees; empty for an unqualified invocation.
  std::string invoked_qualifier;
  // How deeply it is nested (see kMaxCascadeDepth); 0 for an invocation from outside.
  int cascade_depth = 0;
};

// An instance as a caller of Lambda's API from inside its sandbox: the function version it runs,
// and the cascade depth of the invocation it serves. Thread-safe.
class InstanceCaller {
 public:
  explicit InstanceCaller(std::shared_ptr<const FunctionSpec> function)
      : function_(std::move(function)) {}
  const FunctionSpec& function() const { return *function_; }
  // The depth of the invocation the instance runs now or, between invocations, ran last (a call
  // it makes then counts as part of that one), or of the invocation it was started for, during
  // its init.
  int depth() const { return depth_.load(std::memory_order_relaxed); }
  void setDepth(int depth) { depth_.store(depth, std::memory_order_relaxed); }

 private:
  std::shared_ptr<const FunctionSpec> function_;
  std::atomic<int> depth_{0};
};

struct InvokeResult {
  std::string request_id;
  std::string payload;          // the handler's result, or the error object if function_error
  bool function_error = false;  // Lambda's X-Amz-Function-Error: Unhandled
  std::string executed_version;
  std::string logs;  // START line, the function's output, END and REPORT lines
  double duration_ms = 0;
  double init_duration_ms = 0;  // > 0 only on a cold start
  bool cold_start = false;
};

struct EngineOptions {
  std::filesystem::path runtime_dir;  // where runtime::installRuntimeFiles put the bootstraps
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};  // scale to zero after this
  // Account-wide: invocations in flight at once (idle instances do not count). The part not
  // reserved by functions is shared by the unreserved ones; beyond it they are throttled.
  int account_concurrency = 1000;
  // Live instances (idle, busy, provisioned), a memory bound: an idle unprovisioned instance is
  // stopped to make room, else the invocation is throttled.
  int max_instances = 1000;
  // Between retries of a provisioned instance whose start failed.
  std::chrono::milliseconds provision_retry{std::chrono::seconds(5)};
  // Pre-started generic instances kept per pool, for the runtimes that support deferred init
  // (python3.11, nodejs20.x), when the sandbox can attach code to a running process: a cold
  // start of a function without network access then takes one, gives it the function's code,
  // limits and environment, and skips the sandbox and interpreter start. Refilled in the
  // background; 0 disables. They do not count against max_instances (a fixed, small overhead)
  // until taken. A pool is per runtime::genericPoolKey: python3.11 has one, nodejs20.x one per
  // memory size (Node's heap limits are fixed when it starts).
  int prestarted_per_runtime = 2;
  // Pools kept at once: each runtime's at the default memory size from the start, then those
  // cold starts asked for; beyond this many, the least recently asked for is dropped.
  int max_prestarted_pools = 4;
  int worker_threads = 16;  // threads that wait on instances
  std::chrono::milliseconds init_timeout{std::chrono::seconds(10)};  // Lambda's init limit
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Serves Lambda's API to the functions themselves, inside their sandboxes (cascading
  // invocations). When set, every sandbox gets a listener for it (sandbox::SpawnSpec::lambda_api)
  // and every instance AWS_ENDPOINT_URL_LAMBDA; it is called once per instance, when the instance
  // becomes its function's (spawned for it, or a pre-started one taken), with the sandbox's
  // listener (owned by the sandbox's Process) and the instance as a caller, from an engine
  // thread, outside any engine lock; it must not block. What it returns is kept until the
  // instance stops and released before its sandbox is destroyed: releasing it stops serving
  // the listener. An error leaves the instance without the API (it is logged). Unset: sandboxes
  // get no such listener.
  std::function<Result<std::shared_ptr<void>>(int listen_fd,
                                              std::shared_ptr<InstanceCaller> caller)>
      serve_lambda_api;
  // Called with each invocation's log text (never from inside an engine lock).
  std::function<void(const FunctionSpec&, std::string_view request_id, std::string_view logs)>
      on_logs;
};

// Instances serve one version of one function (FunctionSpec::version); reserved concurrency and
// the invocations it counts are per function, provisioned concurrency per version.
// Thread-safety: every method may be called from any thread.
class Engine {
 public:
  using Callback = std::function<void(Result<InvokeResult>)>;
  virtual ~Engine() = default;

  // Runs one invocation. `done` is called exactly once, on an engine thread, possibly before
  // invoke() returns. Function failures (handler error, init error, timeout, crash) are an ok
  // Result with function_error set; an error Result means the platform could not run it
  // (kResourceExhausted when throttled — see throttleReason() — and kUnavailable if no sandbox
  // could start). The request's spec also updates the function's reservation.
  virtual void invoke(InvokeRequest request, Callback done) = 0;
  // Records the function's current configuration: its reserved concurrency (which shrinks the
  // unreserved pool at once) and the provisioned concurrency of `function`'s version: the engine
  // starts that many instances of its revision in the background, keeps them initialised and
  // never reaps them, replaces those that die, and stops provisioned instances of older
  // revisions. Call after every deploy and, at server start, for every function version that is
  // or was provisioned. Idempotent.
  virtual void configure(std::shared_ptr<const FunctionSpec> function) = 0;
  // Forgets the function's configuration (reservation, provisioned instances of every version),
  // stops its idle instances and marks busy ones for stopping when done (after a delete).
  virtual void evict(std::string_view function_name) = 0;
  // Number of live instances (idle + busy), for tests and metrics.
  virtual int instanceCount() const = 0;
  // Provisioned instances of the function version that finished init (idle or busy): Lambda's
  // provisioned concurrency status is READY once this reaches the configured number.
  virtual int provisionedReadyCount(std::string_view function_name,
                                    std::string_view version) const = 0;
  // Pre-started generic instances ready to take (see EngineOptions::prestarted_per_runtime),
  // for tests and metrics.
  virtual int prestartedCount() const { return 0; }
  // Stops all instances and threads; invocations in flight complete with kUnavailable.
  // Idempotent; the destructor calls it.
  virtual void shutdown() = 0;
};

// `sandbox` must outlive the engine.
std::unique_ptr<Engine> makeEngine(EngineOptions options, sandbox::Sandbox& sandbox);

}  // namespace gust::engine
