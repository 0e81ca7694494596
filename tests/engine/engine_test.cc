// The engine with real sandboxes and the real Python runtime: results, warm reuse, scaling,
// limits, timeouts, crashes, reaping, eviction, revisions, shutdown and Lambda's log lines.
#include "engine/engine.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/files.h"
#include "recording_sandbox.h"
#include "runtime/runtime.h"
#include "sandbox/linux/process_sandbox.h"

namespace gust::engine {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kApp = R"PY(
import os, time

print("initialising")

def handler(event, context):
    action = event.get("action")
    if action == "sleep":
        time.sleep(event["seconds"])
    elif action == "exit":
        os._exit(3)
    elif action == "raise":
        raise RuntimeError("boom")
    elif action == "sigkill":
        os.kill(os.getpid(), 9)
    print("handling", event.get("tag"))
    return {"pid": os.getpid(), "tag": event.get("tag"), "version": os.environ.get("CODE_VERSION"),
            "endpoint": os.environ.get("AWS_ENDPOINT_URL_LAMBDA")}
)PY";

// A Node handler that fails outside its own call when asked.
constexpr const char* kNodeApp = R"JS(
exports.handler = (event, context, callback) => {
  if (event.action === 'uncaught') {
    setTimeout(() => { throw new TypeError('async boom'); }, 1);
    return;
  }
  if (event.action === 'late') {  // answers, then leaves a rejected promise behind
    context.callbackWaitsForEmptyEventLoop = false;
    callback(null, { pid: process.pid, late: true });
    Promise.reject(new Error('after the answer'));
    return;
  }
  callback(null, { pid: process.pid });
};
)JS";

// Polls `cond` until it holds or 10 s pass.
template <class F>
bool eventually(F cond) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gust-engine-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);
    ASSERT_TRUE(runtime::installRuntimeFiles(root_ / "runtime").ok());
    code_dir_ = root_ / "code";
    fs::create_directories(code_dir_);
    ::chmod(code_dir_.c_str(), 0755);
    ASSERT_TRUE(writeFileAtomic(code_dir_ / "app.py", kApp, 0644).ok());
    options_.runtime_dir = root_ / "runtime";
    options_.worker_threads = 4;
    options_.on_logs = [this](const FunctionSpec&, std::string_view id, std::string_view logs) {
      std::lock_guard lock(logs_mu_);
      logged_.emplace_back(std::string(id), std::string(logs));
    };
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(root_);
  }

  void makeEngine() { engine_ = engine::makeEngine(options_, recording_); }

  std::shared_ptr<FunctionSpec> function(int timeout_s = 3, int64_t revision = 1,
                                         std::string handler = "app.handler") {
    auto fn = std::make_shared<FunctionSpec>();
    fn->name = "fn";
    fn->runtime = "python3.11";
    fn->handler = std::move(handler);
    fn->timeout_s = timeout_s;
    fn->code_dir = code_dir_;
    fn->revision = revision;
    fn->environment = {{"CODE_VERSION", std::to_string(revision)}};
    return fn;
  }

  std::future<Result<InvokeResult>> invokeAsync(std::shared_ptr<FunctionSpec> fn,
                                                std::string payload) {
    auto promise = std::make_shared<std::promise<Result<InvokeResult>>>();
    auto future = promise->get_future();
    InvokeRequest req;
    req.function = std::move(fn);
    req.payload = std::move(payload);
    engine_->invoke(std::move(req),
                    [promise](Result<InvokeResult> r) { promise->set_value(std::move(r)); });
    return future;
  }

  Result<InvokeResult> invokeSync(std::shared_ptr<FunctionSpec> fn, std::string payload) {
    auto future = invokeAsync(std::move(fn), std::move(payload));
    if (future.wait_for(30s) != std::future_status::ready)
      return Error::internal("the engine did not answer within 30 s");
    return future.get();
  }

  std::shared_ptr<FunctionSpec> nodeFunction() {
    fs::path dir = root_ / "node-code";
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0755);
    EXPECT_TRUE(writeFileAtomic(dir / "index.js", kNodeApp, 0644).ok());
    auto fn = std::make_shared<FunctionSpec>();
    fn->name = "node-fn";
    fn->runtime = "nodejs20.x";
    fn->handler = "index.handler";
    fn->code_dir = dir;
    fn->revision = 1;
    return fn;
  }

  fs::path root_, code_dir_;
  std::unique_ptr<sandbox::Sandbox> sandbox_ = sandbox::makeProcessSandbox({});
  RecordingSandbox recording_{*sandbox_};
  EngineOptions options_;
  std::unique_ptr<Engine> engine_;
  std::mutex logs_mu_;
  std::vector<std::pair<std::string, std::string>> logged_;
};

json::object payloadOf(const InvokeResult& r) { return json::parse(r.payload).as_object(); }

TEST_F(EngineTest, ResultWarmReuseAndLogLines) {
  makeEngine();
  auto fn = function();
  auto first = invokeSync(fn, R"({"tag": "one"})");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_FALSE(first->function_error) << first->payload;
  EXPECT_EQ(payloadOf(*first)["tag"].as_string(), "one");
  EXPECT_TRUE(first->cold_start);
  EXPECT_GT(first->init_duration_ms, 0);
  EXPECT_EQ(first->executed_version, "$LATEST");
  EXPECT_EQ(first->request_id.size(), 36u);

  auto second = invokeSync(fn, R"({"tag": "two"})");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(payloadOf(*second)["pid"], payloadOf(*first)["pid"]) << "warm instance reused";
  EXPECT_FALSE(second->cold_start);
  EXPECT_EQ(second->init_duration_ms, 0);
  EXPECT_EQ(engine_->instanceCount(), 1);
  std::printf("[ measured ] cold invoke: init %.2f ms + %.2f ms; warm invoke: %.2f ms\n",
              first->init_duration_ms, first->duration_ms, second->duration_ms);

  const std::string id = first->request_id;
  std::regex cold(
      "initialising\n"
      "START RequestId: " +
      id +
      " Version: \\$LATEST\n"
      "handling one\n"
      "END RequestId: " +
      id +
      "\n"
      "REPORT RequestId: " +
      id +
      "\tDuration: \\d+\\.\\d\\d ms\tBilled Duration: \\d+ ms\t"
      "Memory Size: 128 MB\tMax Memory Used: [1-9]\\d* MB\tInit Duration: \\d+\\.\\d\\d ms\t\n");
  EXPECT_TRUE(std::regex_match(first->logs, cold)) << first->logs;
  const std::string id2 = second->request_id;
  std::regex warm("START RequestId: " + id2 +
                  " Version: \\$LATEST\n"
                  "handling two\n"
                  "END RequestId: " +
                  id2 +
                  "\n"
                  "REPORT RequestId: " +
                  id2 +
                  "\tDuration: \\d+\\.\\d\\d ms\tBilled Duration: \\d+ ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: [1-9]\\d* MB\t\n");
  EXPECT_TRUE(std::regex_match(second->logs, warm)) << second->logs;

  std::lock_guard lock(logs_mu_);
  ASSERT_EQ(logged_.size(), 2u);
  EXPECT_EQ(logged_[0].first, id);
  EXPECT_EQ(logged_[0].second, first->logs);
}

TEST_F(EngineTest, ParallelInvocationsScaleOut) {
  makeEngine();
  auto fn = function();
  std::vector<std::future<Result<InvokeResult>>> futures;
  for (int i = 0; i < 3; ++i)
    futures.push_back(invokeAsync(fn, R"({"action": "sleep", "seconds": 0.5})"));
  EXPECT_EQ(engine_->instanceCount(), 3) << "each request got its own instance";
  std::set<int64_t> pids;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_FALSE(r->function_error) << r->payload;
    pids.insert(payloadOf(*r)["pid"].as_int64());
  }
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_EQ(engine_->instanceCount(), 3);
}

TEST_F(EngineTest, HandlerErrorKeepsTheInstance) {
  makeEngine();
  auto fn = function();
  auto r = invokeSync(fn, R"({"action": "raise"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  auto err = payloadOf(*r);
  EXPECT_EQ(err["errorType"].as_string(), "RuntimeError");
  EXPECT_EQ(err["errorMessage"].as_string(), "boom");
  EXPECT_NE(r->logs.find("[ERROR] RuntimeError: boom"), std::string::npos) << r->logs;
  EXPECT_EQ(engine_->instanceCount(), 1);
  auto ok = invokeSync(fn, "{}");
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok->cold_start);
}

// Lambda restarts a Node runtime after an uncaught exception: the invocation fails with the
// error, the runtime's exit is logged, and the next invocation is a cold start.
TEST_F(EngineTest, NodeUncaughtExceptionFailsTheInvocationAndDiscardsTheInstance) {
  makeEngine();
  auto fn = nodeFunction();
  auto first = invokeSync(fn, "{}");
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto r = invokeSync(fn, R"({"action": "uncaught"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  EXPECT_FALSE(r->cold_start);
  auto err = payloadOf(*r);
  EXPECT_EQ(err["errorType"].as_string(), "TypeError") << r->payload;
  EXPECT_EQ(err["errorMessage"].as_string(), "async boom");
  EXPECT_NE(r->logs.find("\tERROR\tUncaught Exception \t"), std::string::npos) << r->logs;
  EXPECT_NE(r->logs.find("RequestId: " + r->request_id +
                         " Error: Runtime exited with error: exit status 129\n"
                         "Runtime.ExitError\nEND RequestId: "),
            std::string::npos)
      << r->logs;
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 0; })) << "discarded";
  auto next = invokeSync(fn, "{}");
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_FALSE(next->function_error) << next->payload;
  EXPECT_TRUE(next->cold_start);
  EXPECT_NE(payloadOf(*next)["pid"], payloadOf(*first)["pid"]);
}

// An error after the invocation was answered: the runtime exits while idle, and the next
// invocation does not fail for it but gets a new instance (a cold start), as on Lambda.
TEST_F(EngineTest, NodeErrorAfterTheAnswerRestartsTheRuntimeForTheNextInvocation) {
  makeEngine();
  auto fn = nodeFunction();
  auto late = invokeSync(fn, R"({"action": "late"})");
  ASSERT_TRUE(late.ok()) << late.error().message;
  EXPECT_FALSE(late->function_error) << late->payload;
  EXPECT_TRUE(payloadOf(*late)["late"].as_bool());
  std::this_thread::sleep_for(200ms);  // lets it exit
  auto next = invokeSync(fn, "{}");
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_FALSE(next->function_error) << next->payload;
  EXPECT_TRUE(next->cold_start);
  EXPECT_GT(next->init_duration_ms, 0);
  EXPECT_NE(payloadOf(*next)["pid"], payloadOf(*late)["pid"]);
  // What the old runtime printed last and how it ended come first, before START.
  auto start = next->logs.find("START RequestId: ");
  auto rejection = next->logs.find("\tERROR\tUnhandled Promise Rejection \t");
  auto exit =
      next->logs.find("Error: Runtime exited with error: exit status 128\nRuntime.ExitError\n");
  EXPECT_LT(rejection, start) << next->logs;
  EXPECT_LT(exit, start) << next->logs;
  EXPECT_EQ(engine_->instanceCount(), 1);
  auto warm = invokeSync(fn, "{}");
  ASSERT_TRUE(warm.ok());
  EXPECT_FALSE(warm->cold_start);
}

TEST_F(EngineTest, TimeoutKillsAndReplacesTheInstance) {
  makeEngine();
  auto fn = function(/*timeout_s=*/1);
  auto warm = invokeSync(fn, "{}");
  ASSERT_TRUE(warm.ok());
  auto begin = std::chrono::steady_clock::now();
  auto r = invokeSync(fn, R"({"action": "sleep", "seconds": 30})");
  auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 5s);
  auto err = payloadOf(*r);
  EXPECT_EQ(err["errorType"].as_string(), "Sandbox.Timedout");
  EXPECT_EQ(err["errorMessage"].as_string(),
            "RequestId: " + r->request_id + " Error: Task timed out after 1.00 seconds");
  EXPECT_TRUE(std::regex_search(
      r->logs, std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z " + r->request_id +
                          " Task timed out after 1.00 seconds\nEND RequestId: ")))
      << r->logs;
  EXPECT_EQ(engine_->instanceCount(), 0);

  auto next = invokeSync(fn, "{}");
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->cold_start);
  EXPECT_NE(payloadOf(*next)["pid"], payloadOf(*warm)["pid"]);
}

TEST_F(EngineTest, CrashIsRuntimeExitError) {
  makeEngine();
  auto fn = function();
  auto r = invokeSync(fn, R"({"action": "exit"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  auto err = payloadOf(*r);
  EXPECT_EQ(err["errorType"].as_string(), "Runtime.ExitError");
  EXPECT_EQ(err["errorMessage"].as_string(),
            "RequestId: " + r->request_id + " Error: Runtime exited with error: exit status 3");
  EXPECT_EQ(engine_->instanceCount(), 0);
  EXPECT_TRUE(invokeSync(fn, "{}").ok());
}

TEST_F(EngineTest, InitErrorIsAFunctionError) {
  makeEngine();
  auto r = invokeSync(function(3, 1, "missing.handler"), "{}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  auto err = payloadOf(*r);
  EXPECT_EQ(err["errorType"].as_string(), "Runtime.ImportModuleError");
  EXPECT_EQ(err["errorMessage"].as_string(),
            "Unable to import module 'missing': No module named 'missing'");
  EXPECT_NE(r->logs.find("[ERROR] Runtime.ImportModuleError"), std::string::npos) << r->logs;
  EXPECT_NE(r->logs.find("START RequestId: "), std::string::npos);
  EXPECT_EQ(engine_->instanceCount(), 0);
}

TEST_F(EngineTest, MaxInstancesIsEnforced) {
  options_.max_instances = 1;
  makeEngine();
  auto fn = function();
  auto busy = invokeAsync(fn, R"({"action": "sleep", "seconds": 1})");
  auto rejected = invokeSync(fn, "{}");
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(rejected.error().message.find("Rate Exceeded."), std::string::npos);
  ASSERT_EQ(busy.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(busy.get().ok());

  // An idle instance of another function yields its slot.
  auto other = function();
  other->name = "other";
  auto r = invokeSync(other, "{}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(engine_->instanceCount(), 1);
}

TEST_F(EngineTest, IdleInstancesAreReaped) {
  options_.idle_timeout = 200ms;
  makeEngine();
  ASSERT_TRUE(invokeSync(function(), "{}").ok());
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 0; }));
}

TEST_F(EngineTest, BusyInstancesAreNotReaped) {
  options_.idle_timeout = 50ms;
  makeEngine();
  auto busy = invokeAsync(function(), R"({"action": "sleep", "seconds": 0.5})");
  ASSERT_EQ(busy.wait_for(30s), std::future_status::ready);
  auto r = busy.get();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->function_error) << r->payload;
}

TEST_F(EngineTest, EvictStopsIdleAndRetiresBusy) {
  makeEngine();
  auto fn = function();
  ASSERT_TRUE(invokeSync(fn, "{}").ok());
  EXPECT_EQ(engine_->instanceCount(), 1);
  engine_->evict("fn");
  EXPECT_EQ(engine_->instanceCount(), 0);

  auto busy = invokeAsync(fn, R"({"action": "sleep", "seconds": 0.3})");
  engine_->evict("fn");
  ASSERT_EQ(busy.wait_for(30s), std::future_status::ready);
  auto r = busy.get();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->function_error) << "a busy instance finishes its request";
  EXPECT_EQ(engine_->instanceCount(), 0) << "and is then stopped";
}

TEST_F(EngineTest, OlderRevisionsAreNeverReused) {
  makeEngine();
  auto v1 = invokeSync(function(3, 1), "{}");
  ASSERT_TRUE(v1.ok());
  auto v2 = invokeSync(function(3, 2), "{}");
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->cold_start);
  EXPECT_EQ(payloadOf(*v2)["version"].as_string(), "2");
  EXPECT_NE(payloadOf(*v2)["pid"], payloadOf(*v1)["pid"]);
  EXPECT_EQ(engine_->instanceCount(), 1) << "the idle revision-1 instance was stopped";
}

TEST_F(EngineTest, SpawnFailureIsUnavailable) {
  makeEngine();
  auto fn = function();
  fn->code_dir = root_ / "does-not-exist";
  auto r = invokeSync(fn, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("cannot start an instance of function 'fn'"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(engine_->instanceCount(), 0);
}

TEST_F(EngineTest, ShutdownFailsInFlightAndLaterInvocations) {
  makeEngine();
  auto fn = function();
  ASSERT_TRUE(invokeSync(fn, "{}").ok());
  // Takes the warm instance at once; shutdown kills it whether or not the event was sent yet.
  auto in_flight = invokeAsync(fn, R"({"action": "sleep", "seconds": 30})");
  engine_->shutdown();
  ASSERT_EQ(in_flight.wait_for(10s), std::future_status::ready);
  auto r = in_flight.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(engine_->instanceCount(), 0);
  auto after = invokeSync(fn, "{}");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  engine_->shutdown();  // idempotent
}

}  // namespace
}  // namespace gust::engine

namespace gust::engine {
namespace {

TEST_F(EngineTest, AccountLimitCountsInvocationsInFlight) {
  options_.account_concurrency = 1;
  makeEngine();
  auto fn = function();
  auto busy = invokeAsync(fn, R"({"action": "sleep", "seconds": 1})");
  auto rejected = invokeSync(fn, "{}");
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(throttleReason(rejected.error()), kAccountLimitReason) << rejected.error().message;
  ASSERT_EQ(busy.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(busy.get().ok());
  // The idle instance does not count: the next invocation runs.
  auto r = invokeSync(fn, "{}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->cold_start);
}

TEST_F(EngineTest, ReservedConcurrencyThrottlesTheFunctionAndShrinksThePool) {
  options_.account_concurrency = 2;
  makeEngine();
  auto off = function();
  off->name = "off";
  off->reserved_concurrency = 0;
  auto r = invokeSync(off, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(throttleReason(r.error()), kReservedLimitReason) << r.error().message;
  EXPECT_EQ(engine_->instanceCount(), 0);

  auto reserved = function();
  reserved->name = "reserved";
  reserved->reserved_concurrency = 1;
  engine_->configure(reserved);  // the pool left to unreserved functions is now 1
  auto busy = invokeAsync(reserved, R"({"action": "sleep", "seconds": 1})");
  auto second = invokeSync(reserved, "{}");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(throttleReason(second.error()), kReservedLimitReason);

  auto unreserved = function();
  auto u1 = invokeAsync(unreserved, R"({"action": "sleep", "seconds": 1})");
  auto u2 = invokeSync(unreserved, "{}");
  ASSERT_FALSE(u2.ok());
  EXPECT_EQ(throttleReason(u2.error()), kAccountLimitReason) << u2.error().message;
  ASSERT_EQ(busy.wait_for(30s), std::future_status::ready);
  ASSERT_EQ(u1.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(busy.get().ok());
  EXPECT_TRUE(u1.get().ok());

  // Without the reservation the whole account limit is shared again.
  engine_->evict("reserved");
  auto a = invokeAsync(unreserved, R"({"action": "sleep", "seconds": 0.5})");
  auto b = invokeSync(unreserved, "{}");
  EXPECT_TRUE(b.ok()) << b.error().message;
  ASSERT_EQ(a.wait_for(30s), std::future_status::ready);
}

TEST_F(EngineTest, ProvisionedInstancesAreStartedKeptAndWarm) {
  options_.idle_timeout = 50ms;
  makeEngine();
  auto fn = function();
  fn->provisioned_concurrency = 2;
  engine_->configure(fn);
  EXPECT_EQ(engine_->instanceCount(), 2) << "started in the background at once";
  ASSERT_TRUE(eventually([&] { return engine_->provisionedReadyCount("fn", "$LATEST") == 2; }));
  auto r = invokeSync(fn, R"({"tag": "first"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->cold_start);
  EXPECT_EQ(r->init_duration_ms, 0);
  EXPECT_EQ(r->logs.find("Init Duration"), std::string::npos) << r->logs;
  // A burst beyond them starts an ordinary instance, which the reaper stops after the idle
  // timeout while the provisioned ones stay.
  std::vector<std::future<Result<InvokeResult>>> burst;
  for (int i = 0; i < 3; ++i)
    burst.push_back(invokeAsync(fn, R"({"action": "sleep", "seconds": 0.3})"));
  int cold = 0;
  for (auto& f : burst) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    auto b = f.get();
    ASSERT_TRUE(b.ok());
    cold += b->cold_start ? 1 : 0;
  }
  EXPECT_EQ(cold, 1);
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 2; }));

  // One that dies is replaced.
  auto crashed = invokeSync(fn, R"({"action": "exit"})");
  ASSERT_TRUE(crashed.ok());
  EXPECT_TRUE(crashed->function_error);
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 2; }));

  // A new revision replaces them; evict drops them.
  auto v2 = function(3, 2);
  v2->provisioned_concurrency = 1;
  engine_->configure(v2);
  EXPECT_TRUE(eventually([&] {
    return engine_->instanceCount() == 1 && engine_->provisionedReadyCount("fn", "$LATEST") == 1;
  }));
  auto r2 = invokeSync(v2, "{}");
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->cold_start);
  EXPECT_EQ(payloadOf(*r2)["version"].as_string(), "2");
  engine_->evict("fn");
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 0; }));
}

TEST_F(EngineTest, ProvisionedInstanceThatDiesWhileIdleIsReplaced) {
  makeEngine();
  auto fn = function();
  fn->provisioned_concurrency = 1;
  engine_->configure(fn);
  ASSERT_TRUE(eventually([&] { return engine_->provisionedReadyCount("fn", "$LATEST") == 1; }));
  auto first = invokeSync(fn, "{}");
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->cold_start);
  auto pid = static_cast<pid_t>(payloadOf(*first)["pid"].as_int64());
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // The reaper notices the exit and starts a replacement, which the next invocation finds warm.
  ASSERT_TRUE(eventually([&] {
    auto specs = recording_.specs();
    return specs.size() == 2 && engine_->provisionedReadyCount("fn", "$LATEST") == 1;
  }));
  auto second = invokeSync(fn, "{}");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->function_error) << second->payload;
  EXPECT_FALSE(second->cold_start);
  EXPECT_NE(payloadOf(*second)["pid"], payloadOf(*first)["pid"]);
}

TEST_F(EngineTest, OomKillIsRuntimeOutOfMemory) {
  makeEngine();
  recording_.sigkill_is_oom = true;
  recording_.peak_memory_bytes = 200ull << 20;
  auto fn = function();
  auto r = invokeSync(fn, R"({"action": "sigkill"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  auto err = payloadOf(*r);
  EXPECT_EQ(err["errorType"].as_string(), "Runtime.OutOfMemory");
  EXPECT_EQ(err["errorMessage"].as_string(),
            "RequestId: " + r->request_id + " Error: Runtime exited with error: signal: killed");
  EXPECT_NE(r->logs.find("Max Memory Used: 200 MB"), std::string::npos) << r->logs;
  EXPECT_NE(r->logs.find("signal: killed\nRuntime.OutOfMemory\n"), std::string::npos) << r->logs;
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 0; }))
      << "the broken instance is discarded";
}

TEST_F(EngineTest, KillWithoutOomIsRuntimeExitError) {
  makeEngine();
  auto r = invokeSync(function(), R"({"action": "sigkill"})");
  ASSERT_TRUE(r.ok());
  auto err = payloadOf(*r);
  EXPECT_EQ(err["errorType"].as_string(), "Runtime.ExitError");
  EXPECT_EQ(err["errorMessage"].as_string(),
            "RequestId: " + r->request_id + " Error: Runtime exited with error: signal: killed");
}

TEST_F(EngineTest, SandboxGetsMemoryTmpSizeAndNetwork) {
  makeEngine();
  auto fn = function();
  fn->memory_mb = 256;
  fn->ephemeral_storage_mb = 1024;
  fn->network = sandbox::Network::kEgress;
  ASSERT_TRUE(invokeSync(fn, "{}").ok());
  auto specs = recording_.specs();
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].limits.memory_mb, 256);
  EXPECT_EQ(specs[0].limits.tmp_bytes, 1024ull << 20);
  EXPECT_EQ(specs[0].network, sandbox::Network::kEgress);
}

TEST_F(EngineTest, EachInstanceServesLambdaApiAsItsCallerWithTheInvocationsDepth) {
  struct Served {
    int listen_fd;
    std::shared_ptr<InstanceCaller> caller;
    std::weak_ptr<int> handle;
  };
  std::mutex mu;
  std::vector<Served> served;
  options_.serve_lambda_api =
      [&](int listen_fd, std::shared_ptr<InstanceCaller> caller) -> Result<std::shared_ptr<void>> {
    auto handle = std::make_shared<int>(0);
    std::lock_guard lock(mu);
    served.push_back({listen_fd, std::move(caller), handle});
    return std::shared_ptr<void>(handle);
  };
  makeEngine();
  auto fn = function();
  fn->invokes = {"callee"};
  auto invokeAtDepth = [&](int depth) {
    InvokeRequest req;
    req.function = fn;
    req.payload = "{}";
    req.cascade_depth = depth;
    auto promise = std::make_shared<std::promise<Result<InvokeResult>>>();
    auto future = promise->get_future();
    engine_->invoke(std::move(req),
                    [promise](Result<InvokeResult> r) { promise->set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(30s), std::future_status::ready);
    return future.get();
  };
  auto cold = invokeAtDepth(3);
  ASSERT_TRUE(cold.ok()) << cold.error().message;
  ASSERT_EQ(served.size(), 1u);
  EXPECT_GE(served[0].listen_fd, 0);
  EXPECT_EQ(served[0].caller->function().invokes, std::vector<std::string>{"callee"});
  EXPECT_EQ(served[0].caller->depth(), 3);
  // The instance's environment names its listener.
  std::string endpoint(payloadOf(*cold)["endpoint"].as_string());
  EXPECT_TRUE(endpoint.starts_with("http://127.0.0.1:")) << endpoint;
  ASSERT_FALSE(recording_.specs().empty());
  EXPECT_TRUE(recording_.specs().back().lambda_api);
  // A warm invocation updates the depth; the handle lives as long as the instance.
  auto warm = invokeAtDepth(5);
  ASSERT_TRUE(warm.ok()) << warm.error().message;
  EXPECT_FALSE(warm->cold_start);
  EXPECT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].caller->depth(), 5);
  EXPECT_FALSE(served[0].handle.expired());
  engine_->shutdown();
  engine_.reset();
  EXPECT_TRUE(served[0].handle.expired());
}

TEST_F(EngineTest, NoLambdaApiListenerWithoutTheHook) {
  makeEngine();
  auto r = invokeSync(function(), "{}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(payloadOf(*r)["endpoint"].is_null());
  EXPECT_FALSE(recording_.specs().back().lambda_api);
}

// Workers wait on instances for whole invocations; callers waiting on callees must not run out
// of them: a queued task gets a new worker when none is free.
TEST_F(EngineTest, WorkersAreAddedWhileEveryWorkerIsBusy) {
  options_.worker_threads = 1;
  makeEngine();
  auto fn = function();
  std::vector<std::future<Result<InvokeResult>>> running;
  for (int i = 0; i < 3; ++i)
    running.push_back(invokeAsync(fn, R"({"action":"sleep","seconds":2})"));
  // With one worker the three would run one after another on one instance.
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 3; }));
  for (auto& f : running) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
}

}  // namespace
}  // namespace gust::engine
