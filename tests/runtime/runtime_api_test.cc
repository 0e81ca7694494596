// The Runtime API host side: the request-head parser, and `provided` instances in a
// ProcessSandbox (which creates the loopback listener) driven through makeInstanceClient().
#include "runtime/runtime_api.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <random>
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

TEST(ParseRequestHeadTest, IncompleteThenComplete) {
  auto partial = parseRequestHead("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x");
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->has_value());
  std::string text =
      "POST /a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
      "Lambda-Runtime-Function-Error-Type:  Function.Bad \r\n\r\nabc";
  auto head = parseRequestHead(text);
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(head->has_value());
  const HttpRequestHead& h = **head;
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/a/b");
  EXPECT_EQ(h.content_length, 3u);
  EXPECT_EQ(h.head_bytes, text.size() - 3);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.headers.at("lambda-runtime-function-error-type"), "Function.Bad");
}

TEST(ParseRequestHeadTest, ConnectionSemantics) {
  auto h10 = parseRequestHead("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(h10.ok() && h10->has_value());
  EXPECT_FALSE((*h10)->keep_alive);
  auto close = parseRequestHead("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(close.ok() && close->has_value());
  EXPECT_FALSE((*close)->keep_alive);
  auto chunked = parseRequestHead("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(chunked.ok() && chunked->has_value());
  EXPECT_TRUE((*chunked)->chunked);
}

TEST(ParseRequestHeadTest, RejectsMalformedAndOversizeHeads) {
  for (const char* bad :
       {"GET\r\n\r\n", "GET / HTTP/2\r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n"}) {
    auto r = parseRequestHead(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
  std::string huge = "GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestHeadBytes, 'a');
  auto r = parseRequestHead(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
}

// The parser sees bytes from untrusted runtimes: mutated heads must give a clean answer (the
// sanitizers catch any out-of-bounds access) and never claim more bytes than it was given.
TEST(ParseRequestHeadTest, SurvivesMutatedInput) {
  const std::string seeds[] = {
      "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nContent-Length: 2\r\n"
      "Connection: keep-alive\r\n\r\n{}",
  };
  std::mt19937 rng(12345);  // fixed: the run is reproducible
  for (int i = 0; i < 20000; ++i) {
    std::string input = seeds[i % 2];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !input.empty(); ++e) {
      size_t pos = rng() % input.size();
      switch (rng() % 3) {
        case 0:
          input[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          input.erase(pos, 1 + rng() % 4);
          break;
        default:
          input.insert(pos, 1, "\r\n: 0"[rng() % 5]);
          break;
      }
    }
    auto r = parseRequestHead(input);
    if (r.ok() && r->has_value()) {
      EXPECT_LE((*r)->head_bytes, input.size()) << input;
      EXPECT_FALSE((*r)->method.empty());
    }
  }
}

// A custom runtime in Python: the loop of a Lambda bootstrap, with modes picked by the event.
constexpr const char* kBootstrap = R"PY(#!/usr/bin/python3
import http.client, json, os, sys
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
api = "/2018-06-01/runtime"
conn = http.client.HTTPConnection(host, int(port))
if os.environ.get("_HANDLER") == "init-error":
    conn.request("POST", api + "/init/error", "not json",
                 {"Lambda-Runtime-Function-Error-Type": "Runtime.BadThing"})
    conn.getresponse().read()
    print("reported", flush=True)
    sys.exit(1)
if os.environ.get("_HANDLER") == "exit":
    sys.exit(4)
while True:
    conn.request("GET", api + "/invocation/next")
    res = conn.getresponse()
    event = json.loads(res.read())
    rid = res.getheader("Lambda-Runtime-Aws-Request-Id")
    if event.get("mode") == "error":
        conn.request("POST", api + "/invocation/%s/error" % rid, "oops",
                     {"Lambda-Runtime-Function-Error-Type": "lowercase.bad"})
    elif event.get("mode") == "hang":
        continue
    else:
        headers = {k.lower(): v for k, v in res.getheaders()}
        print("serving", rid, flush=True)
        conn.request("POST", api + "/invocation/%s/response" % rid,
                     json.dumps({"event": event, "headers": headers,
                                 "api": os.environ["AWS_LAMBDA_RUNTIME_API"]}))
    r = conn.getresponse()
    r.read()
)PY";

class ProvidedRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gust-provided-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);
    runtime_dir_ = root_ / "runtime";
    code_dir_ = root_ / "code";
    fs::create_directories(code_dir_);
    ::chmod(code_dir_.c_str(), 0755);
    ASSERT_TRUE(installRuntimeFiles(runtime_dir_).ok());
    ASSERT_TRUE(writeFileAtomic(code_dir_ / "bootstrap", kBootstrap, 0755).ok());
    sandbox_ = sandbox::makeProcessSandbox({});
  }
  void TearDown() override {
    client_.reset();
    process_.reset();
    fs::remove_all(root_);
  }

  Result<std::optional<std::string>> start(const std::string& handler) {
    FunctionInfo fn;
    fn.name = "custom";
    fn.runtime = "provided";
    fn.handler = handler;
    fn.environment = {{"AWS_LAMBDA_RUNTIME_API", "1.2.3.4:5"}};  // replaced by the sandbox
    sandbox::SpawnSpec spec;
    spec.code_dir = code_dir_;
    spec.runtime_dir = runtime_dir_;
    auto cmd = launchCommand(fn, sandbox_->layout(spec));
    EXPECT_TRUE(cmd.ok());
    EXPECT_TRUE(cmd->runtime_api);
    EXPECT_EQ(cmd->argv, std::vector<std::string>{(code_dir_ / "bootstrap").string()});
    spec.argv = cmd->argv;
    spec.env = cmd->env;
    spec.runtime_api = cmd->runtime_api;
    auto p = sandbox_->spawn(spec);
    EXPECT_TRUE(p.ok()) << p.error().message;
    process_ = std::move(*p);
    EXPECT_GE(process_->runtimeApiListenFd(), 0);
    client_ = makeInstanceClient(*process_);
    return client_->awaitInit(std::chrono::steady_clock::now() + 20s);
  }

  Result<InvokeOutput> invoke(const std::string& event, std::chrono::milliseconds timeout = 20s) {
    InvokeMeta meta;
    meta.request_id = "req-" + std::to_string(++count_);
    meta.deadline_ms = 1234567890123;
    meta.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:custom";
    meta.trace_id = "Root=1-abc";
    return client_->invoke(meta, event, std::chrono::steady_clock::now() + timeout);
  }

  fs::path root_, runtime_dir_, code_dir_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<sandbox::Process> process_;
  std::unique_ptr<InstanceClient> client_;
  int count_ = 0;
};

TEST_F(ProvidedRuntimeTest, NextResponseLoopWithInvokeHeaders) {
  auto init = start("fn.handler");
  ASSERT_TRUE(init.ok()) << init.error().message;
  EXPECT_FALSE(init->has_value());
  for (int i = 0; i < 3; ++i) {
    auto out = invoke(R"({"n":)" + std::to_string(i) + "}");
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_FALSE(out->function_error);
    json::object o = json::parse(out->payload).as_object();
    EXPECT_EQ(o["event"].as_object()["n"].as_int64(), i);
    json::object h = o["headers"].as_object();
    EXPECT_EQ(h["lambda-runtime-aws-request-id"].as_string(), "req-" + std::to_string(i + 1));
    EXPECT_EQ(h["lambda-runtime-deadline-ms"].as_string(), "1234567890123");
    EXPECT_EQ(h["lambda-runtime-invoked-function-arn"].as_string(),
              "arn:aws:lambda:us-east-1:000000000000:function:custom");
    EXPECT_EQ(h["lambda-runtime-trace-id"].as_string(), "Root=1-abc");
    EXPECT_TRUE(std::string(o["api"].as_string()).starts_with("127.0.0.1:"));
    EXPECT_NE(o["api"].as_string(), "1.2.3.4:5");
    EXPECT_NE(client_->takeLogs().find("serving req-"), std::string::npos);
  }
}

TEST_F(ProvidedRuntimeTest, ErrorWithNonJsonBodyAndInvalidType) {
  ASSERT_TRUE(start("fn.handler").ok());
  auto out = invoke(R"({"mode":"error"})");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->function_error);
  EXPECT_EQ(out->error_type, "Runtime.Unknown");
  json::object o = json::parse(out->payload).as_object();
  EXPECT_EQ(o["errorMessage"].as_string(), "oops");
  // The instance keeps serving after a function error.
  ASSERT_TRUE(invoke("{}").ok());
}

TEST_F(ProvidedRuntimeTest, InitErrorWaitsForTheExitAndKeepsItsLogs) {
  auto init = start("init-error");
  ASSERT_TRUE(init.ok()) << init.error().message;
  ASSERT_TRUE(init->has_value());
  json::object o = json::parse(**init).as_object();
  EXPECT_EQ(o["errorType"].as_string(), "Runtime.BadThing");
  EXPECT_EQ(o["errorMessage"].as_string(), "not json");
  EXPECT_NE(client_->takeLogs().find("reported"), std::string::npos);
}

TEST_F(ProvidedRuntimeTest, ExitDuringInitIsAnExitError) {
  auto init = start("exit");
  ASSERT_TRUE(init.ok()) << init.error().message;
  ASSERT_TRUE(init->has_value());
  EXPECT_NE((*init)->find("Runtime.ExitError"), std::string::npos);
}

TEST_F(ProvidedRuntimeTest, DeadlineWhileTheRuntimeNeverAnswers) {
  ASSERT_TRUE(start("fn.handler").ok());
  auto out = invoke(R"({"mode":"hang"})", 300ms);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace gust::runtime
