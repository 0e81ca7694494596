// Cold starts served by pre-started generic instances, with the real namespace sandbox (and
// cgroups where usable) and the real Python and Node runtimes. Needs root.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/files.h"
#include "engine/engine.h"
#include "runtime/runtime.h"
#include "sandbox/linux/cgroups.h"
#include "sandbox/linux/namespace_sandbox.h"

namespace gust::engine {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

// Reports what the instance sees: how it was started, its environment, its task root.
constexpr const char* kProbe = R"PY(
import os

def handler(event, context):
    return {
        "cmdline": open("/proc/self/cmdline").read().split("\0"),
        "env": dict(os.environ),
        "task": sorted(os.listdir("/var/task")),
        "cwd": os.getcwd(),
        "memory": context.memory_limit_in_mb,
    }
)PY";

// The same for Node, in CommonJS; event.mode "oom" allocates memory outside V8's heap (Buffers)
// until the memory limit strikes.
constexpr const char* kNodeProbe = R"JS(
const fs = require('fs');
const v8 = require('v8');
exports.handler = async (event, context) => {
  if (event.mode === 'oom') {
    const keep = [];
    for (;;) keep.push(Buffer.alloc(16 << 20, 1));
  }
  return {
    cmdline: fs.readFileSync('/proc/self/cmdline', 'utf8').split('\0').filter(Boolean),
    argv: process.argv,
    execArgv: process.execArgv,
    env: process.env,
    task: fs.readdirSync('/var/task').sort(),
    cwd: process.cwd(),
    memory: context.memoryLimitInMB,
    functionName: context.functionName,
    requestId: context.awsRequestId,
    arn: context.invokedFunctionArn,
    logStream: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(),
    heapLimit: v8.getHeapStatistics().heap_size_limit,
    noDeprecation: process.noDeprecation === true,
    moduleType: typeof require === 'function' ? 'commonjs' : 'esm',
  };
};
)JS";

template <class F>
bool eventually(F cond) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

class PrestartedEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the namespace sandbox needs root";
    std::string tmpl = (fs::temp_directory_path() / "gust-prestarted-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);
    ASSERT_TRUE(runtime::installRuntimeFiles(root_ / "runtime").ok());
    auto manager =
        sandbox::CgroupManager::detect("gust-prestarted-test-" + std::to_string(::getpid()));
    if (manager.ok()) cgroups_ = std::move(*manager);
    sandbox::NamespaceSandboxOptions sandbox_options;
    sandbox_options.cgroups = cgroups_.get();
    auto sandbox = sandbox::makeNamespaceSandbox(sandbox_options);
    ASSERT_TRUE(sandbox.ok()) << sandbox.error().message;
    sandbox_ = std::move(*sandbox);
    options_.runtime_dir = root_ / "runtime";
    options_.worker_threads = 4;
    options_.prestarted_per_runtime = 2;
  }
  void TearDown() override {
    engine_.reset();
    sandbox_.reset();
    cgroups_.reset();
    if (!root_.empty()) fs::remove_all(root_);
  }

  // The default pools: python3.11 and nodejs20.x at 128 MB.
  static constexpr int kDefaultPools = 2;

  void startEngine() {
    engine_ = makeEngine(options_, *sandbox_);
    int full = kDefaultPools * options_.prestarted_per_runtime;
    if (options_.prestarted_per_runtime > 0) {
      ASSERT_TRUE(eventually([&] { return engine_->prestartedCount() == full; }))
          << "the pools filled: " << engine_->prestartedCount();
    }
  }

  // A nodejs20.x function of `files` (path -> contents).
  std::shared_ptr<FunctionSpec> nodeFunction(const std::string& name,
                                             const std::map<std::string, std::string>& files,
                                             std::map<std::string, std::string> env = {},
                                             std::string handler = "index.handler",
                                             int memory_mb = 128) {
    fs::path dir = root_ / ("code-" + name);
    for (const auto& [rel, text] : files) {
      fs::create_directories((dir / rel).parent_path());
      EXPECT_TRUE(writeFileAtomic(dir / rel, text, 0644).ok());
    }
    for (fs::path d = dir; d != root_; d = d.parent_path()) ::chmod(d.c_str(), 0755);
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_directory()) ::chmod(e.path().c_str(), 0755);
    auto fn = std::make_shared<FunctionSpec>();
    fn->name = name;
    fn->runtime = "nodejs20.x";
    fn->handler = std::move(handler);
    fn->memory_mb = memory_mb;
    fn->timeout_s = 10;
    fn->code_dir = dir;
    fn->revision = 1;
    fn->environment = std::move(env);
    return fn;
  }

  std::shared_ptr<FunctionSpec> function(const std::string& name, const std::string& code,
                                         std::map<std::string, std::string> env,
                                         std::string handler = "app.handler") {
    fs::path dir = root_ / ("code-" + name);
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0755);
    EXPECT_TRUE(writeFileAtomic(dir / "app.py", code, 0644).ok());
    auto fn = std::make_shared<FunctionSpec>();
    fn->name = name;
    fn->runtime = "python3.11";
    fn->handler = std::move(handler);
    fn->memory_mb = 256;
    fn->code_dir = dir;
    fn->revision = 1;
    fn->environment = std::move(env);
    return fn;
  }

  Result<InvokeResult> invoke(std::shared_ptr<FunctionSpec> fn, std::string payload = "{}") {
    auto promise = std::make_shared<std::promise<Result<InvokeResult>>>();
    auto future = promise->get_future();
    InvokeRequest req;
    req.function = std::move(fn);
    req.payload = std::move(payload);
    engine_->invoke(std::move(req),
                    [promise](Result<InvokeResult> r) { promise->set_value(std::move(r)); });
    if (future.wait_for(30s) != std::future_status::ready)
      return Error::internal("the engine did not answer within 30 s");
    return future.get();
  }

  static bool fromPool(const json::object& probe) {
    for (const auto& arg : probe.at("cmdline").as_array())
      if (arg.as_string() == "--deferred-init") return true;
    return false;
  }

  fs::path root_;
  std::unique_ptr<sandbox::CgroupManager> cgroups_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  EngineOptions options_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(PrestartedEngineTest, ColdStartsAreServedFromThePoolWithOnlyTheFunctionsCodeAndEnv) {
  startEngine();
  auto a = function("fn-a", kProbe, {{"SECRET_A", "alpha"}});
  auto b = function("fn-b", kProbe, {{"SECRET_B", "beta"}});
  auto ra = invoke(a);
  ASSERT_TRUE(ra.ok()) << ra.error().message;
  ASSERT_FALSE(ra->function_error) << ra->payload;
  EXPECT_TRUE(ra->cold_start);
  EXPECT_GT(ra->init_duration_ms, 0);
  auto rb = invoke(b);
  ASSERT_TRUE(rb.ok()) << rb.error().message;
  ASSERT_FALSE(rb->function_error) << rb->payload;
  std::printf("[ measured ] pooled cold starts: init %.2f ms, %.2f ms\n", ra->init_duration_ms,
              rb->init_duration_ms);

  auto pa = json::parse(ra->payload).as_object();
  auto pb = json::parse(rb->payload).as_object();
  EXPECT_TRUE(fromPool(pa)) << ra->payload;
  EXPECT_TRUE(fromPool(pb)) << rb->payload;
  EXPECT_EQ(pa["task"], json::parse(R"(["app.py"])"));
  EXPECT_EQ(pa["cwd"].as_string(), "/var/task");
  EXPECT_EQ(pa["memory"].as_string(), "256");
  const auto& env_a = pa["env"].as_object();
  const auto& env_b = pb["env"].as_object();
  EXPECT_EQ(env_a.at("SECRET_A").as_string(), "alpha");
  EXPECT_EQ(env_a.at("AWS_LAMBDA_FUNCTION_NAME").as_string(), "fn-a");
  EXPECT_EQ(env_a.at("_HANDLER").as_string(), "app.handler");
  EXPECT_EQ(env_a.at("TMPDIR").as_string(), "/tmp");
  EXPECT_FALSE(env_a.contains("SECRET_B"));
  EXPECT_EQ(env_b.at("SECRET_B").as_string(), "beta");
  EXPECT_FALSE(env_b.contains("SECRET_A")) << "function A's environment leaked into B's instance";
  EXPECT_EQ(env_b.at("AWS_LAMBDA_FUNCTION_NAME").as_string(), "fn-b");

  // Each took its own instance; the warm one is reused for its own function only.
  auto again = invoke(a);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->cold_start);
  EXPECT_EQ(engine_->instanceCount(), 2);
  EXPECT_TRUE(eventually([&] { return engine_->prestartedCount() == 2; })) << "refilled";
}

TEST_F(PrestartedEngineTest, InitErrorsAreReportedAsWithAFreshInstance) {
  auto broken = [&](const std::string& name) {
    return function(name, "import no_such_module\n", {});
  };
  startEngine();
  auto pooled = invoke(broken("broken-pooled"));
  ASSERT_TRUE(pooled.ok()) << pooled.error().message;
  engine_.reset();

  options_.prestarted_per_runtime = 0;
  startEngine();
  auto fresh = invoke(broken("broken-fresh"));
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;

  for (const auto* r : {&*pooled, &*fresh}) {
    EXPECT_TRUE(r->function_error);
    EXPECT_TRUE(r->cold_start);
    auto error = json::parse(r->payload).as_object();
    EXPECT_EQ(error["errorType"].as_string(), "Runtime.ImportModuleError") << r->payload;
    EXPECT_EQ(error["errorMessage"].as_string(),
              "Unable to import module 'app': No module named 'no_such_module'");
    EXPECT_NE(r->logs.find("[ERROR] Runtime.ImportModuleError"), std::string::npos) << r->logs;
  }
}

// Keys of a JSON object, sorted.
std::vector<std::string> keysOf(const json::object& o) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : o) keys.emplace_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST_F(PrestartedEngineTest, NodeColdStartsAreServedFromThePoolWithOnlyTheFunctionsCodeAndEnv) {
  startEngine();
  auto a = nodeFunction("node-a", {{"index.js", kNodeProbe}}, {{"SECRET_A", "alpha"}});
  auto b = nodeFunction("node-b", {{"index.js", kNodeProbe}}, {{"SECRET_B", "beta"}});
  auto ra = invoke(a, R"({"k": 1})");
  ASSERT_TRUE(ra.ok()) << ra.error().message;
  ASSERT_FALSE(ra->function_error) << ra->payload;
  EXPECT_TRUE(ra->cold_start);
  auto rb = invoke(b);
  ASSERT_TRUE(rb.ok()) << rb.error().message;
  ASSERT_FALSE(rb->function_error) << rb->payload;
  std::printf("[ measured ] pooled Node cold starts: init %.2f ms, %.2f ms\n", ra->init_duration_ms,
              rb->init_duration_ms);

  auto pa = json::parse(ra->payload).as_object();
  auto pb = json::parse(rb->payload).as_object();
  EXPECT_TRUE(fromPool(pa)) << ra->payload;
  EXPECT_TRUE(fromPool(pb)) << rb->payload;
  // What the function sees is what a fresh start shows: no --deferred-init in process.argv.
  EXPECT_EQ(pa["argv"], json::parse(R"(["/usr/bin/node", "/var/runtime/node/bootstrap.cjs"])"));
  EXPECT_EQ(pa["execArgv"], json::parse(R"(["--expose-gc", "--max-http-header-size=81920",
                                           "--max-semi-space-size=6", "--max-old-space-size=116"])"));
  EXPECT_EQ(pa["task"], json::parse(R"(["index.js"])"));
  EXPECT_EQ(pa["cwd"].as_string(), "/var/task");
  EXPECT_EQ(pa["moduleType"].as_string(), "commonjs");
  EXPECT_EQ(pa["memory"].as_string(), "128");
  EXPECT_EQ(pa["functionName"].as_string(), "node-a");
  EXPECT_EQ(pa["requestId"].as_string(), ra->request_id);
  EXPECT_EQ(pa["arn"].as_string(), "arn:aws:lambda:us-east-1:000000000000:function:node-a");
  EXPECT_GT(pa["remaining"].as_int64(), 8000);

  // The environment is exactly the one a fresh instance gets (plus the sandbox's TMPDIR):
  // nothing of the generic start, nothing of the other function.
  runtime::FunctionInfo info;
  info.name = a->name;
  info.runtime = a->runtime;
  info.handler = a->handler;
  info.memory_mb = a->memory_mb;
  info.environment = a->environment;
  sandbox::SpawnSpec spec;
  spec.code_dir = a->code_dir;
  spec.runtime_dir = options_.runtime_dir;
  auto fresh = runtime::launchCommand(info, sandbox_->layout(spec));
  ASSERT_TRUE(fresh.ok());
  std::vector<std::string> expected_keys{"TMPDIR"};
  for (const std::string& kv : fresh->env) expected_keys.push_back(kv.substr(0, kv.find('=')));
  std::sort(expected_keys.begin(), expected_keys.end());
  const auto& env_a = pa["env"].as_object();
  const auto& env_b = pb["env"].as_object();
  EXPECT_EQ(keysOf(env_a), expected_keys) << ra->payload;
  EXPECT_EQ(env_a.at("SECRET_A").as_string(), "alpha");
  EXPECT_EQ(env_a.at("AWS_LAMBDA_FUNCTION_NAME").as_string(), "node-a");
  EXPECT_EQ(env_a.at("_HANDLER").as_string(), "index.handler");
  EXPECT_EQ(env_a.at("AWS_EXECUTION_ENV").as_string(), "AWS_Lambda_nodejs20.x");
  EXPECT_EQ(env_a.at("TMPDIR").as_string(), "/tmp");
  EXPECT_EQ(env_a.at("AWS_LAMBDA_LOG_STREAM_NAME").as_string(), pa["logStream"].as_string());
  EXPECT_FALSE(env_a.contains("SECRET_B"));
  EXPECT_EQ(env_b.at("SECRET_B").as_string(), "beta");
  EXPECT_FALSE(env_b.contains("SECRET_A")) << "function A's environment leaked into B's instance";

  auto again = invoke(a);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->cold_start);
  EXPECT_EQ(engine_->instanceCount(), 2);
  EXPECT_TRUE(eventually([&] { return engine_->prestartedCount() == 4; })) << "refilled";
}

TEST_F(PrestartedEngineTest, NodeEsModulesLoadFromThePool) {
  startEngine();
  auto by_type =
      nodeFunction("node-esm",
                   {{"package.json", R"({"type": "module"})"},
                    {"lib/app.js",
                     "import { readFileSync } from 'node:fs';\n"
                     "const started = await Promise.resolve('top-level await');\n"
                     "export const handler = async (event) => ({ event, started,\n"
                     "  esm: typeof require === 'undefined',\n"
                     "  cmdline: readFileSync('/proc/self/cmdline', 'utf8').split('\\0') });\n"}},
                   {}, "lib/app.handler");
  auto mjs =
      nodeFunction("node-mjs",
                   {{"fn.mjs",
                     "import { readFileSync } from 'node:fs';\n"
                     "export const go = async () => ({ mjs: true,\n"
                     "  cmdline: readFileSync('/proc/self/cmdline', 'utf8').split('\\0') });\n"}},
                   {}, "fn.go");
  auto r1 = invoke(by_type, R"({"x": 1})");
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  ASSERT_FALSE(r1->function_error) << r1->payload << r1->logs;
  auto p1 = json::parse(r1->payload).as_object();
  EXPECT_TRUE(fromPool(p1)) << r1->payload;
  EXPECT_TRUE(p1["esm"].as_bool());
  EXPECT_EQ(p1["started"].as_string(), "top-level await");
  EXPECT_EQ(p1["event"], json::parse(R"({"x": 1})"));
  auto r2 = invoke(mjs);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  ASSERT_FALSE(r2->function_error) << r2->payload << r2->logs;
  auto p2 = json::parse(r2->payload).as_object();
  EXPECT_TRUE(fromPool(p2)) << r2->payload;
  EXPECT_TRUE(p2["mjs"].as_bool());
}

TEST_F(PrestartedEngineTest, NodePooledInstanceMatchesAFreshOne) {
  auto probe = [&](const std::string& name) {
    auto r = invoke(nodeFunction(name, {{"index.js", kNodeProbe}}, {{"K", "v"}}));
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->function_error) << r->payload;
    return json::parse(r->payload).as_object();
  };
  startEngine();
  auto pooled = probe("node-pooled");
  engine_.reset();
  options_.prestarted_per_runtime = 0;
  startEngine();
  auto fresh = probe("node-fresh");
  EXPECT_TRUE(fromPool(pooled));
  EXPECT_FALSE(fromPool(fresh));
  EXPECT_EQ(pooled["argv"], fresh["argv"]);
  EXPECT_EQ(pooled["execArgv"], fresh["execArgv"]);
  EXPECT_EQ(pooled["heapLimit"], fresh["heapLimit"]) << "V8's heap is sized the same";
  EXPECT_EQ(keysOf(pooled["env"].as_object()), keysOf(fresh["env"].as_object()));
  EXPECT_EQ(pooled["cwd"], fresh["cwd"]);
}

TEST_F(PrestartedEngineTest, NodeInitErrorsAreReportedAsWithAFreshInstance) {
  auto broken = [&](const std::string& name) {
    return nodeFunction(name, {{"index.js", "require('no-such-module');\n"}});
  };
  startEngine();
  auto pooled = invoke(broken("node-broken-pooled"));
  ASSERT_TRUE(pooled.ok()) << pooled.error().message;
  engine_.reset();
  options_.prestarted_per_runtime = 0;
  startEngine();
  auto fresh = invoke(broken("node-broken-fresh"));
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;

  for (const auto* r : {&*pooled, &*fresh}) {
    EXPECT_TRUE(r->function_error);
    EXPECT_TRUE(r->cold_start);
    auto error = json::parse(r->payload).as_object();
    EXPECT_EQ(error["errorType"].as_string(), "Runtime.ImportModuleError") << r->payload;
    EXPECT_TRUE(
        error["errorMessage"].as_string().starts_with("Error: Cannot find module 'no-such-module'"))
        << r->payload;
    EXPECT_TRUE(error["trace"].is_array());
    EXPECT_NE(r->logs.find("\tundefined\tERROR\tInit Error \t"), std::string::npos) << r->logs;
  }
}

TEST_F(PrestartedEngineTest, NodePoolsArePerMemorySizeAndStartOnDemand) {
  startEngine();
  auto first =
      invoke(nodeFunction("node-256-a", {{"index.js", kNodeProbe}}, {}, "index.handler", 256));
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto p1 = json::parse(first->payload).as_object();
  EXPECT_FALSE(fromPool(p1)) << "no pool for 256 MB yet: a fresh instance";
  ASSERT_TRUE(eventually([&] { return engine_->prestartedCount() == 6; }))
      << "the 256 MB pool filled: " << engine_->prestartedCount();
  auto second =
      invoke(nodeFunction("node-256-b", {{"index.js", kNodeProbe}}, {}, "index.handler", 256));
  ASSERT_TRUE(second.ok()) << second.error().message;
  auto p2 = json::parse(second->payload).as_object();
  EXPECT_TRUE(fromPool(p2)) << second->payload;
  EXPECT_EQ(p2["memory"].as_string(), "256");
  EXPECT_EQ(p2["execArgv"], p1["execArgv"]);
  EXPECT_EQ(p2["heapLimit"], p1["heapLimit"]);

  // Variables only read when a process starts: a fresh instance, which honours them.
  auto options = invoke(nodeFunction("node-options", {{"index.js", kNodeProbe}},
                                     {{"NODE_OPTIONS", "--no-deprecation"}}));
  ASSERT_TRUE(options.ok()) << options.error().message;
  auto p3 = json::parse(options->payload).as_object();
  EXPECT_FALSE(fromPool(p3));
  EXPECT_TRUE(p3["noDeprecation"].as_bool()) << options->payload;
  EXPECT_FALSE(p1["noDeprecation"].as_bool());
}

TEST_F(PrestartedEngineTest, NodePooledInstanceOverItsMemoryIsOutOfMemoryAndDiscarded) {
  if (!cgroups_) GTEST_SKIP() << "no memory cgroup on this host";
  startEngine();
  auto fn = nodeFunction("node-oom", {{"index.js", kNodeProbe}});
  auto probe = invoke(fn);
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  ASSERT_FALSE(probe->function_error) << probe->payload;
  EXPECT_TRUE(fromPool(json::parse(probe->payload).as_object())) << probe->payload;

  auto r = invoke(fn, R"({"mode": "oom"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  auto error = json::parse(r->payload).as_object();
  EXPECT_EQ(error["errorType"].as_string(), "Runtime.OutOfMemory") << r->payload;
  EXPECT_EQ(error["errorMessage"].as_string(),
            "RequestId: " + r->request_id + " Error: Runtime exited with error: signal: killed");
  EXPECT_NE(r->logs.find("Memory Size: 128 MB\tMax Memory Used: 128 MB"), std::string::npos)
      << r->logs;
  EXPECT_TRUE(eventually([&] { return engine_->instanceCount() == 0; })) << "discarded";
  auto next = invoke(fn);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_FALSE(next->function_error) << next->payload;
  EXPECT_TRUE(next->cold_start);
}

}  // namespace
}  // namespace gust::engine
