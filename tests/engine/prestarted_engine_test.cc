// Cold starts served by pre-started generic instances, with the real namespace sandbox (and
// cgroups where usable) and the real Python runtime. Needs root.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
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

  void startEngine() {
    engine_ = makeEngine(options_, *sandbox_);
    if (options_.prestarted_per_runtime > 0)
      ASSERT_TRUE(eventually([&] { return engine_->prestartedCount() == 2; }))
          << "the pool filled: " << engine_->prestartedCount();
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

  Result<InvokeResult> invoke(std::shared_ptr<FunctionSpec> fn) {
    auto promise = std::make_shared<std::promise<Result<InvokeResult>>>();
    auto future = promise->get_future();
    InvokeRequest req;
    req.function = std::move(fn);
    req.payload = "{}";
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

}  // namespace
}  // namespace gust::engine
