// The Node.js runtime below the server: the real /usr/bin/node running the embedded bootstrap in
// a ProcessSandbox, for what control's handler check keeps from reaching it end to end.
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/files.h"
#include "runtime/runtime.h"
#include "sandbox/linux/process_sandbox.h"

namespace gust::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

// Reports what the instance sees, or misbehaves as event.mode asks.
constexpr const char* kProbe = R"JS(
exports.handler = (event, context, callback) => {
  switch (event.mode) {
    case 'uncaught':  // thrown outside the handler's call: an uncaught exception
      setTimeout(() => { throw new RangeError('uncaught boom'); }, 1);
      return;
    case 'reject':  // nobody handles it: an unhandled rejection
      Promise.reject(new Error('nobody caught me'));
      return;
    case 'late':  // answered first, then an unhandled rejection
      context.callbackWaitsForEmptyEventLoop = false;
      callback(null, 'answered');
      Promise.reject(new Error('too late'));
      return;
    default:
      callback(null, { env: process.env, argv: process.argv, execArgv: process.execArgv,
                       cwd: process.cwd(), memory: context.memoryLimitInMB });
  }
};
)JS";

InvokeMeta meta(const std::string& request_id) {
  InvokeMeta m;
  m.request_id = request_id;
  m.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:node-fn";
  m.deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch() + 10s)
                      .count();
  return m;
}

class NodeRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gust-node-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);
    runtime_dir_ = root_ / "runtime";
    code_dir_ = root_ / "code";
    fs::create_directories(code_dir_);
    ::chmod(code_dir_.c_str(), 0755);
    ASSERT_TRUE(installRuntimeFiles(runtime_dir_).ok());
    ASSERT_TRUE(
        writeFileAtomic(code_dir_ / "index.js",
                        "exports.handler = async (e, ctx) => ({ e, arn: "
                        "ctx.invokedFunctionArn, left: ctx.getRemainingTimeInMillis() });\n",
                        0644)
            .ok());
    ASSERT_TRUE(writeFileAtomic(code_dir_ / "probe.js", kProbe, 0644).ok());
    ASSERT_TRUE(writeFileAtomic(code_dir_ / "esm.mjs",
                                "export const handler = async () => "
                                "({ esm: typeof require === 'undefined', cwd: process.cwd() });\n",
                                0644)
                    .ok());
    sandbox_ = sandbox::makeProcessSandbox({});
  }
  void TearDown() override {
    client_.reset();
    process_.reset();
    fs::remove_all(root_);
  }

  FunctionInfo function(const std::string& handler) {
    FunctionInfo fn;
    fn.name = "node-fn";
    fn.runtime = "nodejs20.x";
    fn.handler = handler;
    fn.memory_mb = 256;
    fn.environment = {{"COLOR", "blue"}};
    return fn;
  }

  // Starts a generic instance (deferred init) for `fn`'s pool, then initialises it with `fn`'s
  // environment, as the engine does with a pre-started instance. The generic start's own
  // environment gets an extra variable that must not survive INIT.
  std::optional<std::string> startDeferred(const FunctionInfo& fn) {
    sandbox::SpawnSpec spec;
    spec.code_dir = code_dir_;  // the process sandbox has no attachCode: the code is there
    spec.runtime_dir = runtime_dir_;
    auto generic = launchGenericCommand(genericPoolKey(fn.runtime, fn.memory_mb, fn.environment),
                                        sandbox_->layout(spec));
    EXPECT_TRUE(generic.ok()) << generic.error().message;
    spec.argv = generic->argv;
    spec.env = generic->env;
    spec.env.push_back("GENERIC_ONLY=leak");
    auto p = sandbox_->spawn(spec);
    EXPECT_TRUE(p.ok()) << p.error().message;
    process_ = std::move(*p);
    client_ = makeInstanceClient(*process_);
    auto ready = client_->awaitReady(std::chrono::steady_clock::now() + 20s);
    EXPECT_TRUE(ready.ok()) << ready.error().message << client_->takeLogs();
    auto cmd = launchCommand(fn, sandbox_->layout(spec));
    EXPECT_TRUE(cmd.ok());
    auto init = client_->initialize(cmd->env, std::chrono::steady_clock::now() + 20s);
    EXPECT_TRUE(init.ok()) << init.error().message;
    return init.ok() ? *init : std::optional<std::string>("init failed");
  }

  Result<InvokeOutput> invoke(const std::string& payload, const std::string& request_id = "r-1") {
    return client_->invoke(meta(request_id), payload, std::chrono::steady_clock::now() + 20s);
  }

  std::optional<std::string> start(const std::string& handler) {
    FunctionInfo fn = function(handler);
    sandbox::SpawnSpec spec;
    spec.code_dir = code_dir_;
    spec.runtime_dir = runtime_dir_;
    auto cmd = launchCommand(fn, sandbox_->layout(spec));
    EXPECT_TRUE(cmd.ok());
    EXPECT_EQ(cmd->argv.front(), "/usr/bin/node");
    EXPECT_FALSE(cmd->runtime_api);
    spec.argv = cmd->argv;
    spec.env = cmd->env;
    auto p = sandbox_->spawn(spec);
    EXPECT_TRUE(p.ok()) << p.error().message;
    process_ = std::move(*p);
    client_ = makeInstanceClient(*process_);
    auto init = client_->awaitInit(std::chrono::steady_clock::now() + 20s);
    EXPECT_TRUE(init.ok()) << init.error().message;
    return init.ok() ? *init : std::optional<std::string>("init failed");
  }

  fs::path root_, runtime_dir_, code_dir_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<sandbox::Process> process_;
  std::unique_ptr<InstanceClient> client_;
};

TEST_F(NodeRuntimeTest, InvokesThroughTheFrameProtocol) {
  ASSERT_EQ(start("index.handler"), std::nullopt);
  InvokeMeta meta;
  meta.request_id = "r-1";
  meta.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:node-fn";
  meta.deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch() + 10s)
                         .count();
  auto out = client_->invoke(meta, R"({"k":1})", std::chrono::steady_clock::now() + 20s);
  ASSERT_TRUE(out.ok()) << out.error().message;
  json::object o = json::parse(out->payload).as_object();
  EXPECT_EQ(o["e"].as_object()["k"].as_int64(), 1);
  EXPECT_EQ(o["arn"].as_string(), meta.invoked_function_arn);
  EXPECT_GT(o["left"].as_int64(), 5000);
}

TEST_F(NodeRuntimeTest, MalformedHandlerNames) {
  for (const char* handler : {"index", "../index.handler"}) {
    auto init = start(handler);
    ASSERT_TRUE(init.has_value()) << handler;
    json::object o = json::parse(*init).as_object();
    EXPECT_EQ(o["errorType"].as_string(), "Runtime.MalformedHandlerName") << handler;
    EXPECT_TRUE(o["trace"].is_array());
  }
}

TEST_F(NodeRuntimeTest, DeferredInitTakesTheFunctionsEnvironmentAndNothingElse) {
  ASSERT_EQ(startDeferred(function("probe.handler")), std::nullopt);
  auto out = invoke("{}");
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_FALSE(out->function_error) << out->payload;
  json::object o = json::parse(out->payload).as_object();
  const auto& env = o["env"].as_object();
  EXPECT_FALSE(env.contains("GENERIC_ONLY")) << "the generic start's environment leaked";
  EXPECT_EQ(env.at("COLOR").as_string(), "blue");
  EXPECT_EQ(env.at("_HANDLER").as_string(), "probe.handler");
  EXPECT_EQ(env.at("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").as_string(), "256");
  EXPECT_EQ(o["memory"].as_string(), "256");
  EXPECT_EQ(o["cwd"].as_string(), code_dir_.string());
  // As after a fresh start: no --deferred-init in process.argv, and the heap flags of the
  // function's memory size.
  ASSERT_EQ(o["argv"].as_array().size(), 2u) << out->payload;
  EXPECT_EQ(o["argv"].as_array()[1].as_string(),
            (runtime_dir_ / "node" / "bootstrap.cjs").string());
  EXPECT_EQ(o["execArgv"], json::parse(R"(["--expose-gc", "--max-http-header-size=81920",
                                         "--max-semi-space-size=12", "--max-old-space-size=231"])"));
}

TEST_F(NodeRuntimeTest, DeferredInitLoadsEsModules) {
  ASSERT_EQ(startDeferred(function("esm.handler")), std::nullopt);
  auto out = invoke("{}");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(json::parse(out->payload),
            json::parse(R"({"esm": true, "cwd": ")" + code_dir_.string() + R"("})"));
}

TEST_F(NodeRuntimeTest, DeferredInitErrorsAreReportedAndTheInstanceExits) {
  auto init = startDeferred(function("missing.handler"));
  ASSERT_TRUE(init.has_value());
  json::object o = json::parse(*init).as_object();
  EXPECT_EQ(o["errorType"].as_string(), "Runtime.ImportModuleError");
  auto status = process_->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 129) << *status;
  EXPECT_NE(client_->takeLogs().find("\tundefined\tERROR\tInit Error \t"), std::string::npos);
}

TEST_F(NodeRuntimeTest, GenericCommandsMatchTheFreshOnesAndOnlyPoolableFunctionsHaveAKey) {
  sandbox::SpawnSpec spec;
  spec.code_dir = code_dir_;
  spec.runtime_dir = runtime_dir_;
  auto layout = sandbox_->layout(spec);
  FunctionInfo fn = function("index.handler");
  auto fresh = launchCommand(fn, layout);
  auto generic = launchGenericCommand("nodejs20.x/256", layout);
  ASSERT_TRUE(fresh.ok() && generic.ok());
  auto argv = generic->argv;
  ASSERT_EQ(argv.back(), "--deferred-init");
  argv.pop_back();
  EXPECT_EQ(argv, fresh->argv);
  auto node_path = [](const std::vector<std::string>& env) {
    return *std::find_if(env.begin(), env.end(),
                         [](const std::string& kv) { return kv.starts_with("NODE_PATH="); });
  };
  EXPECT_EQ(node_path(generic->env), node_path(fresh->env));

  EXPECT_EQ(genericPoolKey("nodejs20.x", 256, {{"COLOR", "blue"}, {"LANG", "en_US.UTF-8"}}),
            "nodejs20.x/256");
  EXPECT_EQ(genericPoolKey("python3.11", 256, {}), "python3.11");
  EXPECT_EQ(genericPoolKey("exec", 128, {}), "");
  EXPECT_EQ(genericPoolKey("provided", 128, {}), "");
  for (const char* key : {"NODE_OPTIONS", "LD_PRELOAD", "LD_LIBRARY_PATH", "LC_ALL",
                          "NODE_EXTRA_CA_CERTS", "UV_THREADPOOL_SIZE", "MALLOC_ARENA_MAX"})
    EXPECT_EQ(genericPoolKey("nodejs20.x", 128, {{key, "x"}}), "") << key;
  EXPECT_EQ(genericPoolKey("python3.11", 128, {{"LD_LIBRARY_PATH", "/var/task/lib"}}), "");
  EXPECT_EQ(genericPoolKey("nodejs20.x", 128, {{"LANG", "de_DE.UTF-8"}}), "");
  EXPECT_EQ(defaultGenericPoolKeys(), (std::vector<std::string>{"python3.11", "nodejs20.x/128"}));
  for (const char* key : {"nodejs20.x", "nodejs20.x/", "nodejs20.x/12x", "nodejs20.x/-1", "exec"})
    EXPECT_FALSE(launchGenericCommand(key, layout).ok()) << key;
}

// As Lambda's runtime: an uncaught exception or unhandled rejection fails the invocation, and
// the runtime exits (129, 128) right after saying so.
TEST_F(NodeRuntimeTest, UncaughtExceptionFailsTheInvocationAndEndsTheRuntime) {
  ASSERT_EQ(start("probe.handler"), std::nullopt);
  auto out = invoke(R"({"mode": "uncaught"})");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->function_error);
  EXPECT_TRUE(out->runtime_exits);
  json::object o = json::parse(out->payload).as_object();
  EXPECT_EQ(o["errorType"].as_string(), "RangeError");
  EXPECT_EQ(o["errorMessage"].as_string(), "uncaught boom");
  auto status = process_->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 129) << *status;
  std::string logs = client_->takeLogs();
  EXPECT_NE(logs.find("\tr-1\tERROR\tUncaught Exception \t"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("Invoke Error"), std::string::npos) << logs;
}

TEST_F(NodeRuntimeTest, UnhandledRejectionFailsTheInvocationAndEndsTheRuntime) {
  ASSERT_EQ(start("probe.handler"), std::nullopt);
  auto out = invoke(R"({"mode": "reject"})");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->function_error);
  EXPECT_TRUE(out->runtime_exits);
  json::object o = json::parse(out->payload).as_object();
  EXPECT_EQ(o["errorType"].as_string(), "Runtime.UnhandledPromiseRejection");
  EXPECT_EQ(o["errorMessage"].as_string(), "Error: nobody caught me");
  auto status = process_->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 128) << *status;
}

TEST_F(NodeRuntimeTest, ErrorAfterTheAnswerEndsTheRuntimeWhileIdle) {
  ASSERT_EQ(start("probe.handler"), std::nullopt);
  EXPECT_FALSE(client_->exited());
  auto out = invoke(R"({"mode": "late"})");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->function_error) << out->payload;
  EXPECT_FALSE(out->runtime_exits);
  EXPECT_EQ(out->payload, R"("answered")");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!client_->exited() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(client_->exited()) << "the host can tell before it sends another invocation";
  auto status = process_->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 128) << *status;
}

TEST_F(NodeRuntimeTest, AHandledErrorKeepsTheRuntime) {
  ASSERT_EQ(start("probe.handler"), std::nullopt);
  auto out = invoke("not json");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->function_error);
  EXPECT_FALSE(out->runtime_exits);
  EXPECT_FALSE(client_->exited());
  auto again = invoke("{}", "r-2");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->function_error) << again->payload;
}

}  // namespace
}  // namespace gust::runtime
