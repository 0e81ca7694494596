// The Python runtime end to end: the real /usr/bin/python3 running the embedded bootstrap in a
// ProcessSandbox, driven through InstanceClient.
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/files.h"
#include "runtime/runtime.h"
#include "sandbox/linux/process_sandbox.h"

namespace gust::runtime {
namespace embedded {
extern const std::string_view kPythonBootstrap;
}

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kApp = R"PY(
import json, os, sys, time

def echo(event, context):
    print("hello from the handler")
    return {"event": event, "pid": os.getpid()}

def fail(event, context):
    raise ValueError("bad input: " + str(event.get("x")))

def context_fields(event, context):
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "custom": cc.custom if cc else None,
        "installation_id": cc.client.installation_id if cc and cc.client else None,
        "identity_id": context.identity.cognito_identity_id,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "tmpdir": os.environ.get("TMPDIR"),
        "cwd": os.getcwd(),
        "uid": os.getuid(),
        "env_keys": sorted(os.environ.keys()),
        "stdout_line_buffered": sys.stdout.line_buffering,
    }

def huge_result(event, context):
    return "x" * (7 * 1024 * 1024)

def not_serialisable(event, context):
    return {"value": object()}

def chatty(event, context):
    for i in range(event["lines"]):
        print("line %06d %s" % (i, "y" * 90))
    context.log("via context.log\n")
    return "done"

def crash(event, context):
    os._exit(3)

def slow(event, context):
    time.sleep(event["seconds"])
    return "late"

def no_newline(event, context):
    print("partial", end="")
    return 1
)PY";

class PythonRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gust-python-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);
    runtime_dir_ = root_ / "runtime";
    code_dir_ = root_ / "code";
    fs::create_directories(code_dir_ / "pkg");
    ::chmod(code_dir_.c_str(), 0755);
    ::chmod((code_dir_ / "pkg").c_str(), 0755);
    ASSERT_TRUE(installRuntimeFiles(runtime_dir_).ok());
    writeCode("app.py", kApp);
    writeCode("pkg/__init__.py", "");
    writeCode("pkg/mod.py", "def handler(event, context):\n    return 'nested'\n");
    writeCode("broken.py", "def handler(event, context)\n    return 1\n");
    writeCode("raises_on_import.py", "raise RuntimeError('init failed')\n");
    sandbox_ = sandbox::makeProcessSandbox({});
  }
  void TearDown() override { fs::remove_all(root_); }

  void writeCode(const std::string& name, const std::string& text) {
    ASSERT_TRUE(writeFileAtomic(code_dir_ / name, text, 0644).ok());
  }

  FunctionInfo info(const std::string& handler) {
    FunctionInfo fn;
    fn.name = "my-function";
    fn.runtime = "python3.11";
    fn.handler = handler;
    fn.memory_mb = 256;
    fn.timeout_s = 30;
    fn.environment = {{"GREETING", "hi"}};
    return fn;
  }

  // Starts an instance of `handler`; returns the init outcome (nullopt = ready).
  std::optional<std::string> start(const std::string& handler) {
    sandbox::SpawnSpec spec;
    spec.code_dir = code_dir_;
    spec.runtime_dir = runtime_dir_;
    auto cmd = launchCommand(info(handler), sandbox_->layout(spec));
    EXPECT_TRUE(cmd.ok());
    spec.argv = cmd->argv;
    spec.env = cmd->env;
    auto p = sandbox_->spawn(spec);
    EXPECT_TRUE(p.ok()) << p.error().message;
    process_ = std::move(*p);
    client_ = std::make_unique<FrameClient>(process_->channelFd(), process_->stdoutFd(),
                                            process_->stderrFd(), 64 * 1024);
    auto init = client_->awaitInit(std::chrono::steady_clock::now() + 20s);
    EXPECT_TRUE(init.ok()) << init.error().message;
    return init.ok() ? *init : std::optional<std::string>("init failed");
  }

  Result<InvokeOutput> invoke(const std::string& event, std::chrono::milliseconds timeout = 20s,
                              InvokeMeta meta = {}) {
    if (meta.request_id.empty()) meta.request_id = "11111111-2222-3333-4444-555555555555";
    meta.deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch() + timeout)
                           .count();
    meta.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:my-function";
    return client_->invoke(meta, event, std::chrono::steady_clock::now() + timeout);
  }

  fs::path root_, runtime_dir_, code_dir_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<sandbox::Process> process_;
  std::unique_ptr<InstanceClient> client_;
};

json::object parseObject(const std::string& text) {
  json::value v = json::parse(text);
  return v.as_object();
}

TEST(RuntimeFilesTest, SupportedRuntimes) {
  EXPECT_TRUE(isSupportedRuntime("python3.11"));
  EXPECT_FALSE(isSupportedRuntime("python2.7"));
  EXPECT_FALSE(isSupportedRuntime(""));
}

TEST_F(PythonRuntimeTest, InstallIsIdempotentAndRepairs) {
  fs::path bootstrap = runtime_dir_ / "python" / "bootstrap.py";
  struct stat st {};
  ASSERT_EQ(::stat(bootstrap.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  ASSERT_EQ(::stat((runtime_dir_ / "python").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(*readFile(bootstrap), embedded::kPythonBootstrap);
  ASSERT_TRUE(installRuntimeFiles(runtime_dir_).ok());

  ::chmod(bootstrap.c_str(), 0644);
  std::ofstream(bootstrap) << "tampered";
  ASSERT_TRUE(installRuntimeFiles(runtime_dir_).ok());
  EXPECT_EQ(*readFile(bootstrap), embedded::kPythonBootstrap);
  ASSERT_EQ(::stat(bootstrap.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
}

TEST_F(PythonRuntimeTest, LaunchCommandUsesDebianPythonAndLambdaEnvironment) {
  ::setenv("GUST_TEST_SERVER_ONLY", "leak", 1);
  sandbox::Layout layout{"/var/task", "/var/runtime", "/tmp"};
  FunctionInfo fn = info("app.echo");
  fn.environment["AWS_REGION"] = "evil-region-1";  // reserved: must not win
  fn.environment["PATH"] = "/custom/bin";          // overridable, as on Lambda
  auto cmd = launchCommand(fn, layout);
  ::unsetenv("GUST_TEST_SERVER_ONLY");
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->argv.front(), "/usr/bin/python3");
  EXPECT_EQ(cmd->argv.back(), "/var/runtime/python/bootstrap.py");
  std::map<std::string, std::string> env;
  for (const auto& kv : cmd->env) {
    auto eq = kv.find('=');
    ASSERT_NE(eq, std::string::npos);
    EXPECT_FALSE(env.contains(kv.substr(0, eq))) << "duplicate " << kv;
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "my-function");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
  EXPECT_EQ(env["AWS_REGION"], "us-east-1");
  EXPECT_EQ(env["AWS_DEFAULT_REGION"], "us-east-1");
  EXPECT_EQ(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.11");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/my-function");
  EXPECT_TRUE(std::regex_match(env["AWS_LAMBDA_LOG_STREAM_NAME"],
                               std::regex(R"(\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32})")))
      << env["AWS_LAMBDA_LOG_STREAM_NAME"];
  EXPECT_EQ(env["LAMBDA_TASK_ROOT"], "/var/task");
  EXPECT_EQ(env["LAMBDA_RUNTIME_DIR"], "/var/runtime");
  EXPECT_EQ(env["_HANDLER"], "app.echo");
  EXPECT_EQ(env["TZ"], ":UTC");
  EXPECT_EQ(env["LANG"], "en_US.UTF-8");
  EXPECT_EQ(env["PATH"], "/custom/bin");
  EXPECT_EQ(env["GREETING"], "hi");
  EXPECT_FALSE(env.contains("GUST_TEST_SERVER_ONLY"));
  EXPECT_FALSE(env.contains("HOME"));

  fn.runtime = "cobol";
  auto bad = launchCommand(fn, layout);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(PythonRuntimeTest, ResultAndLogs) {
  ASSERT_EQ(start("app.echo"), std::nullopt);
  auto r = invoke(R"({"key": "value", "n": [1, 2]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->function_error);
  auto obj = parseObject(r->payload);
  EXPECT_EQ(json::serialize(obj["event"]), R"({"key":"value","n":[1,2]})");
  EXPECT_EQ(obj["pid"].as_int64(), process_->pid());
  EXPECT_EQ(client_->takeLogs(), "hello from the handler\n");

  // Warm: the same interpreter serves the next invocation.
  auto again = invoke("{}");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(parseObject(again->payload)["pid"].as_int64(), process_->pid());
}

TEST_F(PythonRuntimeTest, NestedModulePath) {
  ASSERT_EQ(start("pkg/mod.handler"), std::nullopt);
  auto r = invoke("{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->payload, R"("nested")");
}

TEST_F(PythonRuntimeTest, HandlerExceptionIsLambdasErrorShape) {
  ASSERT_EQ(start("app.fail"), std::nullopt);
  auto r = invoke(R"({"x": 7})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  EXPECT_EQ(r->error_type, "ValueError");
  auto err = parseObject(r->payload);
  EXPECT_EQ(err["errorMessage"].as_string(), "bad input: 7");
  EXPECT_EQ(err["errorType"].as_string(), "ValueError");
  EXPECT_EQ(err["requestId"].as_string(), "11111111-2222-3333-4444-555555555555");
  auto& trace = err["stackTrace"].as_array();
  ASSERT_EQ(trace.size(), 1u) << json::serialize(trace);
  std::string frame(trace[0].as_string());
  EXPECT_NE(frame.find("app.py\", line 9, in fail"), std::string::npos) << frame;
  EXPECT_EQ(frame.find("bootstrap.py"), std::string::npos) << "runtime frames are stripped";
  std::string logs = client_->takeLogs();
  EXPECT_NE(logs.find("[ERROR] ValueError: bad input: 7\nTraceback (most recent call last):\n"),
            std::string::npos)
      << logs;
  // The instance survives a handler error.
  EXPECT_TRUE(invoke("{}").ok());
}

TEST_F(PythonRuntimeTest, InitErrors) {
  struct Case {
    std::string handler, type, message;
  };
  for (const Case& c : std::vector<Case>{
           {"missing.handler", "Runtime.ImportModuleError",
            "Unable to import module 'missing': No module named 'missing'"},
           {"app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"},
           {"nodot", "Runtime.MalformedHandlerName",
            "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"},
           {"broken.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken': "},
           {"raises_on_import.handler", "RuntimeError", "init failed"},
       }) {
    SCOPED_TRACE(c.handler);
    auto init = start(c.handler);
    ASSERT_TRUE(init.has_value());
    auto err = parseObject(*init);
    EXPECT_EQ(err["errorType"].as_string(), c.type);
    EXPECT_TRUE(std::string(err["errorMessage"].as_string()).starts_with(c.message))
        << err["errorMessage"].as_string();
    EXPECT_EQ(err["requestId"].as_string(), "");
    EXPECT_TRUE(err["stackTrace"].is_array());
    // The runtime exits after reporting.
    auto status = process_->waitExit(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status));
  }
}

TEST_F(PythonRuntimeTest, ContextObject) {
  ASSERT_EQ(start("app.context_fields"), std::nullopt);
  InvokeMeta meta;
  meta.request_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  meta.client_context = R"({"custom":{"k":"v"},"env":{},"client":{"installation_id":"inst"}})";
  meta.cognito_identity = R"({"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"})";
  meta.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793";
  auto r = invoke("{}", 5s, meta);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_FALSE(r->function_error) << r->payload;
  auto ctx = parseObject(r->payload);
  EXPECT_EQ(ctx["aws_request_id"].as_string(), meta.request_id);
  EXPECT_EQ(ctx["function_name"].as_string(), "my-function");
  EXPECT_EQ(ctx["function_version"].as_string(), "$LATEST");
  EXPECT_EQ(ctx["memory_limit_in_mb"].as_string(), "256") << "a string, as on Lambda";
  EXPECT_EQ(ctx["invoked_function_arn"].as_string(),
            "arn:aws:lambda:us-east-1:000000000000:function:my-function");
  EXPECT_EQ(ctx["log_group_name"].as_string(), "/aws/lambda/my-function");
  EXPECT_TRUE(ctx["log_stream_name"].as_string().starts_with("20"));
  int64_t remaining = ctx["remaining"].as_int64();
  EXPECT_GT(remaining, 0);
  EXPECT_LE(remaining, 5000);
  EXPECT_EQ(json::serialize(ctx["custom"]), R"({"k":"v"})");
  EXPECT_EQ(ctx["installation_id"].as_string(), "inst");
  EXPECT_EQ(ctx["identity_id"].as_string(), "id-1");
  EXPECT_EQ(ctx["trace"].as_string(), meta.trace_id);
  EXPECT_EQ(ctx["cwd"].as_string(), code_dir_.string());
  EXPECT_TRUE(ctx["stdout_line_buffered"].as_bool());
  fs::path tmpdir(std::string(ctx["tmpdir"].as_string()));
  EXPECT_EQ(tmpdir.parent_path(), fs::temp_directory_path());
  if (::geteuid() == 0) EXPECT_EQ(ctx["uid"].as_int64(), 65534);

  // The trace id is per invocation: absent next time.
  auto second = invoke("{}");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(parseObject(second->payload)["trace"].is_null());
  EXPECT_TRUE(parseObject(second->payload)["custom"].is_null());
}

TEST_F(PythonRuntimeTest, OversizeResultIsAFunctionError) {
  ASSERT_EQ(start("app.huge_result"), std::nullopt);
  auto r = invoke("{}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->function_error);
  EXPECT_EQ(r->error_type, "Function.ResponseSizeTooLarge");
  EXPECT_NE(r->payload.find("6291556 bytes"), std::string::npos) << r->payload;
}

TEST_F(PythonRuntimeTest, UnserialisableResultIsAMarshalError) {
  ASSERT_EQ(start("app.not_serialisable"), std::nullopt);
  auto r = invoke("{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error_type, "Runtime.MarshalError");
  auto err = parseObject(r->payload);
  EXPECT_TRUE(std::string(err["errorMessage"].as_string())
                  .starts_with("Unable to marshal response: Object of type object is not JSON "
                               "serializable"))
      << r->payload;
}

TEST_F(PythonRuntimeTest, InvalidEventIsAnUnmarshalError) {
  ASSERT_EQ(start("app.echo"), std::nullopt);
  auto r = invoke("{not json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error_type, "Runtime.UnmarshalError");
}

TEST_F(PythonRuntimeTest, LargeOutputIsCappedAndNeverBlocksTheInstance) {
  ASSERT_EQ(start("app.chatty"), std::nullopt);
  // ~2 MB of prints: far more than a pipe holds, so the host must drain while waiting.
  auto r = invoke(R"({"lines": 20000})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->payload, R"("done")");
  std::string logs = client_->takeLogs();
  EXPECT_LE(logs.size(), 64u * 1024 + 200);
  EXPECT_TRUE(logs.starts_with("line 000000 ")) << logs.substr(0, 50);
  EXPECT_NE(logs.find("bytes of output dropped"), std::string::npos);

  auto small = invoke(R"({"lines": 1})");
  ASSERT_TRUE(small.ok());
  std::string logs2 = client_->takeLogs();
  EXPECT_TRUE(logs2.starts_with("line 000000 ")) << logs2;
  EXPECT_TRUE(logs2.ends_with("via context.log\n")) << logs2;
}

TEST_F(PythonRuntimeTest, OutputWithoutNewlineIsFlushedBeforeTheResult) {
  ASSERT_EQ(start("app.no_newline"), std::nullopt);
  ASSERT_TRUE(invoke("{}").ok());
  EXPECT_EQ(client_->takeLogs(), "partial");
}

TEST_F(PythonRuntimeTest, CrashIsUnavailable) {
  ASSERT_EQ(start("app.crash"), std::nullopt);
  auto r = invoke("{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  auto status = process_->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 3);
}

TEST_F(PythonRuntimeTest, DeadlineIsEnforced) {
  ASSERT_EQ(start("app.slow"), std::nullopt);
  auto begin = std::chrono::steady_clock::now();
  auto r = invoke(R"({"seconds": 30})", 300ms);
  auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace gust::runtime
