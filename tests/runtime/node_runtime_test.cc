// The Node.js runtime below the server: the real /usr/bin/node running the embedded bootstrap in
// a ProcessSandbox, for what control's handler check keeps from reaching it end to end.
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>

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
    sandbox_ = sandbox::makeProcessSandbox({});
  }
  void TearDown() override {
    client_.reset();
    process_.reset();
    fs::remove_all(root_);
  }

  std::optional<std::string> start(const std::string& handler) {
    FunctionInfo fn;
    fn.name = "node-fn";
    fn.runtime = "nodejs20.x";
    fn.handler = handler;
    fn.memory_mb = 256;
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

}  // namespace
}  // namespace gust::runtime
