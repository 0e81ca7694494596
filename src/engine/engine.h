// The engine runs invocations on function instances: it finds an idle warm instance or starts
// a new one in a sandbox, sends the event, enforces the timeout and returns the outcome.
// One request per instance at a time; instances are reused warm and stopped after an idle
// keep-alive.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::sandbox {
class Sandbox;
}

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
};

struct InvokeRequest {
  std::shared_ptr<const FunctionSpec> function;
  std::string payload;         // the event (JSON text)
  std::string request_id;      // a UUID; the engine makes one if empty
  std::string client_context;  // JSON text (decoded from X-Amz-Client-Context) or empty
  std::string trace_id;        // X-Amzn-Trace-Id or empty; the handler sees _X_AMZN_TRACE_ID
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
  int max_instances = 1000;  // account-wide; beyond it invocations get kResourceExhausted
  int worker_threads = 16;   // threads that wait on instances
  std::chrono::milliseconds init_timeout{std::chrono::seconds(10)};  // Lambda's init limit
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Called with each invocation's log text (never from inside an engine lock).
  std::function<void(const FunctionSpec&, std::string_view request_id, std::string_view logs)>
      on_logs;
};

// Thread-safety: every method may be called from any thread.
class Engine {
 public:
  using Callback = std::function<void(Result<InvokeResult>)>;
  virtual ~Engine() = default;

  // Runs one invocation. `done` is called exactly once, on an engine thread, possibly before
  // invoke() returns. Function failures (handler error, init error, timeout, crash) are an ok
  // Result with function_error set; an error Result means the platform could not run it
  // (kResourceExhausted at the concurrency limit, kUnavailable if no sandbox could start).
  virtual void invoke(InvokeRequest request, Callback done) = 0;
  // Stops the idle instances of `function_name` and marks busy ones for stopping when done
  // (after an update or a delete).
  virtual void evict(std::string_view function_name) = 0;
  // Number of live instances (idle + busy), for tests and metrics.
  virtual int instanceCount() const = 0;
  // Stops all instances and threads; invocations in flight complete with kUnavailable.
  // Idempotent; the destructor calls it.
  virtual void shutdown() = 0;
};

// `sandbox` must outlive the engine.
std::unique_ptr<Engine> makeEngine(EngineOptions options, sandbox::Sandbox& sandbox);

}  // namespace gust::engine
