// The gateway over a real FunctionService (SQLite in a temp dir) and a scripted engine, so the
// HTTP mapping is tested without starting instances.
#include "gateway/gateway.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <future>
#include <mutex>

#include "auth/credentials.h"
#include "auth/sigv4.h"
#include "common/crypto.h"
#include "control/function_config.h"
#include "control/function_service.h"
#include "control/zip.h"
#include "engine/engine.h"
#include "events/queue.h"
#include "gateway/store_credentials.h"
#include "store/blob_store.h"
#include "store/sqlite/sqlite_store.h"

namespace gust::gateway {
namespace {

namespace fs = std::filesystem;

class ScriptedEngine final : public engine::Engine {
 public:
  void invoke(engine::InvokeRequest request, Callback done) override {
    {
      std::lock_guard lock(mu);
      requests.push_back(request);
    }
    done(next(request));
  }
  void evict(std::string_view name) override {
    std::lock_guard lock(mu);
    evicted.emplace_back(name);
  }
  void configure(std::shared_ptr<const engine::FunctionSpec> spec) override {
    std::lock_guard lock(mu);
    configured.push_back(*spec);
  }
  int instanceCount() const override { return 0; }
  int provisionedReadyCount(std::string_view, std::string_view) const override { return 0; }
  void shutdown() override {}

  std::function<Result<engine::InvokeResult>(const engine::InvokeRequest&)> next =
      [](const engine::InvokeRequest& r) {
        engine::InvokeResult res;
        res.request_id = r.request_id;
        res.payload = r.payload;
        res.executed_version = "$LATEST";
        res.logs = "START RequestId: x Version: $LATEST\nhello\n";
        return Result<engine::InvokeResult>(res);
      };
  std::mutex mu;
  std::vector<engine::InvokeRequest> requests;
  std::vector<std::string> evicted;
  std::vector<engine::FunctionSpec> configured;
};

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("gateway_test_" + randomHex(6));
    fs::create_directories(root_ / "fn");
    std::ofstream(root_ / "fn" / "app.py") << "def handler(e, c):\n    return e\n";
    store_ = std::move(store::openSqliteStore(root_ / "db").value());
    blobs_.emplace(std::move(store::BlobStore::open(root_ / "blobs").value()));
    functions_.emplace(*store_, *blobs_, root_ / "code");
    credential_store_.emplace(*store_);
    credentials_.emplace(*credential_store_, std::string(kSealKeyBytes, 'k'));
    GatewayOptions options;
    options.credentials = &*credentials_;
    options.token = std::string(64, 'a');
    options.max_sync_payload_bytes = 1024;
    events::QueueOptions queue_options;
    queue_options.path = root_ / "events.db";
    queue_ = std::move(events::EventQueue::open(queue_options).value());
    options.events = queue_.get();
    gateway_.emplace(options, *functions_, engine_);
  }
  void TearDown() override {
    gateway_.reset();
    queue_.reset();
    fs::remove_all(root_);
  }

  http::Response call(std::string method, std::string path, std::string body = "", bool auth = true,
                      std::vector<http::Header> headers = {}) {
    http::Request req;
    req.method = std::move(method);
    size_t question = path.find('?');
    req.path = path.substr(0, question);
    if (question != std::string::npos) req.query = path.substr(question + 1);
    req.target = std::move(path);
    req.body = std::move(body);
    req.headers = std::move(headers);
    if (auth) req.headers.push_back({"authorization", "Bearer " + std::string(64, 'a')});
    std::promise<http::Response> p;
    auto f = p.get_future();
    gateway_->handle(std::move(req), [&p](http::Response r) { p.set_value(std::move(r)); });
    return f.get();
  }

  std::string deployBody(std::string name) {
    control::FunctionConfig config;
    config.name = std::move(name);
    config.runtime = "python3.11";
    config.handler = "app.handler";
    return control::deployRequestToJson(config, control::zipDirectory(root_ / "fn").value());
  }

  static boost::json::object parse(const std::string& s) {
    return boost::json::parse(s).as_object();
  }

  fs::path root_;
  std::unique_ptr<store::Store> store_;
  std::optional<store::BlobStore> blobs_;
  std::optional<control::FunctionService> functions_;
  std::optional<StoreCredentials> credential_store_;
  std::optional<auth::CredentialService> credentials_;
  ScriptedEngine engine_;
  std::unique_ptr<events::EventQueue> queue_;
  std::optional<Gateway> gateway_;
};

TEST_F(GatewayTest, HealthzNeedsNoToken) {
  auto res = call("GET", "/healthz", "", false);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"status":"ok"})");
}

TEST_F(GatewayTest, ApiNeedsTheToken) {
  auto res = call("GET", "/api/v1/functions", "", false);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.header("www-authenticate"), "Bearer");
  res = call("GET", "/api/v1/functions", "", false, {{"authorization", "Bearer nope"}});
  EXPECT_EQ(res.status, 401);
  res = call("GET", "/api/v1/functions", "", false,
             {{"authorization", "Basic " + std::string(64, 'a')}});
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(call("GET", "/api/v1/functions").status, 200);
}

TEST_F(GatewayTest, DeployGetListDelete) {
  auto res = call("POST", "/api/v1/functions", deployBody("f1"));
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(parse(res.body).at("revision").as_int64(), 1);
  res = call("POST", "/api/v1/functions", deployBody("f1"));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(parse(res.body).at("revision").as_int64(), 2);
  // The engine learns the new revision (it never reuses instances of an older one).
  ASSERT_FALSE(engine_.configured.empty());
  EXPECT_EQ(engine_.configured.back().revision, 2);

  res = call("GET", "/api/v1/functions/f1");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(parse(res.body).at("handler").as_string(), "app.handler");
  res = call("GET", "/api/v1/functions");
  EXPECT_EQ(parse(res.body).at("functions").as_array().size(), 1u);

  EXPECT_EQ(call("DELETE", "/api/v1/functions/f1").status, 204);
  res = call("GET", "/api/v1/functions/f1");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(parse(res.body).at("code").as_string(), "NotFound");
  EXPECT_EQ(call("DELETE", "/api/v1/functions/f1").status, 404);
}

TEST_F(GatewayTest, BadDeployBodiesAre400) {
  EXPECT_EQ(call("POST", "/api/v1/functions", "{").status, 400);
  auto res = call("POST", "/api/v1/functions", R"({"name":"x"})");
  EXPECT_EQ(res.status, 400);
  EXPECT_FALSE(parse(res.body).at("message").as_string().empty());
}

TEST_F(GatewayTest, InvokePassesThePayloadAndMapsTheResult) {
  ASSERT_EQ(call("POST", "/api/v1/functions", deployBody("echo")).status, 201);
  auto res = call("POST", "/api/v1/functions/echo/invoke", R"({"k":1})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.body, R"({"k":1})");
  EXPECT_EQ(res.header("x-amz-executed-version"), "$LATEST");
  EXPECT_EQ(res.header("x-amz-function-error"), std::nullopt);
  EXPECT_EQ(res.header("x-amz-log-result"), std::nullopt);
  ASSERT_EQ(engine_.requests.size(), 1u);
  const auto& fn = *engine_.requests[0].function;
  EXPECT_EQ(fn.name, "echo");
  EXPECT_EQ(fn.revision, 1);
  EXPECT_TRUE(fs::exists(fn.code_dir / "app.py"));
  EXPECT_EQ(engine_.requests[0].request_id.size(), 36u);

  // No payload: an empty object. Tail: the log, base64.
  res = call("POST", "/api/v1/functions/echo/invoke", "", true, {{"x-amz-log-type", "Tail"}});
  EXPECT_EQ(res.body, "{}");
  std::string log;
  ASSERT_TRUE(base64Decode(std::string(res.header("x-amz-log-result").value()), log));
  EXPECT_EQ(log, "START RequestId: x Version: $LATEST\nhello\n");
}

TEST_F(GatewayTest, InvokeErrors) {
  ASSERT_EQ(call("POST", "/api/v1/functions", deployBody("echo")).status, 201);
  EXPECT_EQ(call("POST", "/api/v1/functions/missing/invoke", "{}").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/functions/echo/invoke", "{nope").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/functions/echo/invoke", std::string(2000, ' ')).status, 413);

  engine_.next = [](const engine::InvokeRequest& r) {
    engine::InvokeResult res;
    res.request_id = r.request_id;
    res.function_error = true;
    res.payload = R"({"errorMessage":"boom","errorType":"ValueError","stackTrace":[]})";
    return Result<engine::InvokeResult>(res);
  };
  auto res = call("POST", "/api/v1/functions/echo/invoke", "{}");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("x-amz-function-error"), "Unhandled");

  engine_.next = [](const engine::InvokeRequest&) {
    return Result<engine::InvokeResult>(
        Error{ErrorCode::kResourceExhausted, "Rate Exceeded. (limit 1000)"});
  };
  res = call("POST", "/api/v1/functions/echo/invoke", "{}");
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(parse(res.body).at("code").as_string(), "ResourceExhausted");
}

TEST_F(GatewayTest, UnknownRoutesAndMethods) {
  auto res = call("GET", "/nowhere");
  EXPECT_EQ(res.status, 404);
  res = call("PATCH", "/api/v1/functions/x");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.header("allow"), "GET, DELETE");
}

}  // namespace
}  // namespace gust::gateway

namespace gust::gateway {
namespace {

TEST_F(GatewayTest, ThrottledInvokeIsLambdasTooManyRequests) {
  ASSERT_EQ(call("POST", "/api/v1/functions", deployBody("echo")).status, 201);
  for (auto reason : {engine::kReservedLimitReason, engine::kAccountLimitReason}) {
    engine_.next = [reason](const engine::InvokeRequest&) {
      return Result<engine::InvokeResult>(
          Error{ErrorCode::kResourceExhausted, std::string(reason) + ": Rate Exceeded. (details)"});
    };
    auto res = call("POST", "/api/v1/functions/echo/invoke", "{}");
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(res.header("x-amzn-errortype"), "TooManyRequestsException");
    auto body = parse(res.body);
    EXPECT_EQ(body.at("Type").as_string(), "User");
    EXPECT_EQ(body.at("message").as_string(), "Rate Exceeded.");
    EXPECT_EQ(body.at("Reason").as_string(), reason);
    EXPECT_EQ(body.at("code").as_string(), "ResourceExhausted");
  }
}

TEST_F(GatewayTest, DeployConfiguresTheEngineWithTheNewFields) {
  control::FunctionConfig config;
  config.name = "scaled";
  config.runtime = "python3.11";
  config.handler = "app.handler";
  config.reserved_concurrency = 3;
  config.provisioned_concurrency = 2;
  config.ephemeral_storage_mb = 1024;
  config.network = "egress";
  auto body = control::deployRequestToJson(config, control::zipDirectory(root_ / "fn").value());
  auto res = call("POST", "/api/v1/functions", body);
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(parse(res.body).at("reserved_concurrency").as_int64(), 3);
  ASSERT_EQ(engine_.configured.size(), 1u);
  const auto& spec = engine_.configured[0];
  EXPECT_EQ(spec.name, "scaled");
  EXPECT_EQ(spec.reserved_concurrency, std::optional<int>(3));
  EXPECT_EQ(spec.provisioned_concurrency, 2);
  EXPECT_EQ(spec.ephemeral_storage_mb, 1024);
  EXPECT_EQ(spec.network, sandbox::Network::kEgress);
  EXPECT_EQ(parse(call("GET", "/api/v1/functions/scaled").body)
                .at("provisioned_concurrency_ready")
                .as_int64(),
            0);

  engine_.configured.clear();
  ASSERT_TRUE(gateway_->configureEngine().ok());
  ASSERT_EQ(engine_.configured.size(), 1u);
  EXPECT_EQ(engine_.configured[0].provisioned_concurrency, 2);
}

TEST_F(GatewayTest, LogsEndpointFiltersByRequestAndTime) {
  ASSERT_EQ(call("POST", "/api/v1/functions", deployBody("echo")).status, 201);
  auto record = [](std::string id, int64_t ts) {
    store::LogRecord r;
    r.function = "echo";
    r.version = "$LATEST";
    r.request_id = std::move(id);
    r.timestamp_ms = ts;
    r.text = "START RequestId: " + r.request_id + " Version: $LATEST\n";
    return r;
  };
  // 2026-11-24T21:00:00Z is 1795554000000 ms after the epoch.
  ASSERT_TRUE(store_->appendLogs({record("r1", 1795554000000), record("r2", 1795554060000)}).ok());

  auto res = call("GET", "/api/v1/functions/echo/logs");
  ASSERT_EQ(res.status, 200) << res.body;
  auto logs = parse(res.body).at("logs").as_array();
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0].at("request_id").as_string(), "r1");
  EXPECT_EQ(logs[0].at("message").as_string(), "START RequestId: r1 Version: $LATEST\n");
  EXPECT_EQ(logs[0].at("time").as_string(), "2026-11-24T21:00:00.000Z");

  // The query string travels in Request::query.
  auto query = [&](std::string q) {
    http::Request req;
    req.method = "GET";
    req.path = "/api/v1/functions/echo/logs";
    req.target = req.path + "?" + q;
    req.query = q;
    req.headers.push_back({"authorization", "Bearer " + std::string(64, 'a')});
    std::promise<http::Response> p;
    auto f = p.get_future();
    gateway_->handle(std::move(req), [&p](http::Response r) { p.set_value(std::move(r)); });
    return f.get();
  };
  res = query("request_id=r2");
  ASSERT_EQ(res.status, 200) << res.body;
  logs = parse(res.body).at("logs").as_array();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].at("request_id").as_string(), "r2");

  res = query("since=2026-11-24T21%3A00%3A30Z");
  ASSERT_EQ(res.status, 200) << res.body;
  logs = parse(res.body).at("logs").as_array();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].at("request_id").as_string(), "r2");

  res = query("since=1795554000000&limit=1");
  logs = parse(res.body).at("logs").as_array();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].at("request_id").as_string(), "r1");
  EXPECT_EQ(parse(res.body).at("next_after_id").as_int64(), logs[0].at("id").as_int64());

  EXPECT_EQ(query("since=yesterday").status, 400);
  EXPECT_EQ(query("limit=0").status, 400);
  EXPECT_EQ(query("colour=red").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/functions/missing/logs").status, 404);
}

// ---- The Lambda API ---------------------------------------------------------------------------

class LambdaApiTest : public GatewayTest {
 protected:
  std::string createBody(std::string_view name, std::string_view extra = "") {
    std::string zip = control::zipDirectory(root_ / "fn").value();
    return fmt::format(R"({{"FunctionName":"{}","Runtime":"python3.11","Handler":"app.handler",)"
                       R"("Role":"arn:aws:iam::000000000000:role/r","Code":{{"ZipFile":"{}"}}{}}})",
                       name, base64Encode(zip), extra);
  }
  static void expectLambdaError(const http::Response& res, int status, std::string_view type) {
    EXPECT_EQ(res.status, status) << res.body;
    EXPECT_EQ(res.header("x-amzn-errortype"), type) << res.body;
    auto body = parse(res.body);
    EXPECT_TRUE(body.contains("Type")) << res.body;
    EXPECT_FALSE(body.at("message").as_string().empty()) << res.body;
  }
};

TEST_F(LambdaApiTest, CreateGetListDelete) {
  auto res = call("POST", "/2015-03-31/functions", createBody("f", R"(,"MemorySize":256)"));
  ASSERT_EQ(res.status, 201) << res.body;
  auto config = parse(res.body);
  EXPECT_EQ(config.at("FunctionArn").as_string(),
            "arn:aws:lambda:us-east-1:000000000000:function:f");
  EXPECT_EQ(config.at("MemorySize").as_int64(), 256);
  EXPECT_EQ(config.at("Version").as_string(), "$LATEST");
  EXPECT_EQ(config.at("Role").as_string(), "arn:aws:iam::000000000000:role/r");
  EXPECT_FALSE(config.at("RevisionId").as_string().empty());
  expectLambdaError(call("POST", "/2015-03-31/functions", createBody("f")), 409,
                    "ResourceConflictException");

  res = call("GET", "/2015-03-31/functions/f");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(parse(res.body).at("Configuration").at("CodeSha256"), config.at("CodeSha256"));
  res = call("GET",
             "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/"
             "configuration");
  ASSERT_EQ(res.status, 200) << res.body;

  ASSERT_EQ(call("POST", "/2015-03-31/functions", createBody("g")).status, 201);
  res = call("GET", "/2015-03-31/functions/?MaxItems=1");
  ASSERT_EQ(res.status, 200) << res.body;
  auto page = parse(res.body);
  ASSERT_EQ(page.at("Functions").as_array().size(), 1u);
  EXPECT_EQ(page.at("Functions").at(0).at("FunctionName").as_string(), "f");
  std::string marker(page.at("NextMarker").as_string());
  res = call("GET", "/2015-03-31/functions/?MaxItems=1&Marker=" + marker);
  page = parse(res.body);
  ASSERT_EQ(page.at("Functions").as_array().size(), 1u);
  EXPECT_EQ(page.at("Functions").at(0).at("FunctionName").as_string(), "g");
  EXPECT_FALSE(page.contains("NextMarker"));

  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/f").status, 204);
  expectLambdaError(call("GET", "/2015-03-31/functions/f"), 404, "ResourceNotFoundException");
}

TEST_F(LambdaApiTest, BadRequestsGetLambdasErrors) {
  expectLambdaError(call("POST", "/2015-03-31/functions", "{"), 400,
                    "InvalidRequestContentException");
  expectLambdaError(call("POST", "/2015-03-31/functions", createBody("f", R"(,"Timeout":0)")), 400,
                    "InvalidParameterValueException");
  expectLambdaError(call("GET", "/2015-03-31/functions/f/policy"), 404,
                    "UnsupportedOperationException");
  expectLambdaError(call("GET", "/2015-03-31/functions/", "", false), 403,
                    "MissingAuthenticationTokenException");
  expectLambdaError(call("GET", "/2015-03-31/functions/", "", false,
                         {{"authorization", "AWS4-HMAC-SHA256 Credential=x"}}),
                    403, "IncompleteSignatureException");
  ASSERT_EQ(call("POST", "/2015-03-31/functions", createBody("f")).status, 201);
  expectLambdaError(call("POST", "/2015-03-31/functions/f/invocations", "{", true), 400,
                    "InvalidRequestContentException");
  expectLambdaError(call("POST", "/2015-03-31/functions/f/invocations", std::string(2000, ' ')),
                    413, "RequestTooLargeException");
  expectLambdaError(call("POST", "/2015-03-31/functions/f/invocations", "{}", true,
                         {{"x-amz-invocation-type", "Later"}}),
                    400, "InvalidParameterValueException");
  expectLambdaError(call("POST", "/2015-03-31/functions/f:1/invocations?Qualifier=2", "{}"), 400,
                    "InvalidParameterValueException");
  expectLambdaError(call("PUT", "/2015-03-31/functions/f/configuration",
                         R"({"MemorySize":512,"RevisionId":"stale"})"),
                    412, "PreconditionFailedException");
}

TEST_F(LambdaApiTest, InvocationTypesAndHeaders) {
  ASSERT_EQ(call("POST", "/2015-03-31/functions", createBody("f")).status, 201);
  auto res = call("POST", "/2015-03-31/functions/f/invocations", R"({"k":1})", true,
                  {{"x-amz-log-type", "Tail"}});
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.body, R"({"k":1})");
  EXPECT_EQ(res.header("x-amz-executed-version"), "$LATEST");
  std::string logs;
  ASSERT_TRUE(base64Decode(res.header("x-amz-log-result").value_or(""), logs));
  EXPECT_NE(logs.find("START RequestId"), std::string::npos);

  // An Event invocation is stored in the queue (for the dispatcher), not run here.
  res = call("POST", "/2015-03-31/functions/f/invocations", R"({"e":2})", true,
             {{"x-amz-invocation-type", "Event"}});
  EXPECT_EQ(res.status, 202);
  ASSERT_TRUE(res.header("x-amzn-requestid").has_value());
  auto queued = queue_->claim(10, std::chrono::seconds(60));
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 1u);
  EXPECT_EQ(queued->front().id, *res.header("x-amzn-requestid"));
  EXPECT_EQ(queued->front().function, "f");
  EXPECT_EQ(queued->front().payload, R"({"e":2})");
  expectLambdaError(call("POST", "/2015-03-31/functions/nope/invocations", "{}", true,
                         {{"x-amz-invocation-type", "Event"}}),
                    404, "ResourceNotFoundException");
  res = call("POST", "/2015-03-31/functions/f/invocations", "{}", true,
             {{"x-amz-invocation-type", "DryRun"}});
  EXPECT_EQ(res.status, 204);
  std::lock_guard lock(engine_.mu);
  EXPECT_EQ(engine_.requests.size(), 1u);  // neither the event nor the dry run ran here
}

TEST_F(LambdaApiTest, VersionsAliasesAndWeightedRouting) {
  ASSERT_EQ(call("POST", "/2015-03-31/functions", createBody("f")).status, 201);
  auto res = call("POST", "/2015-03-31/functions/f/versions", "");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(parse(res.body).at("Version").as_string(), "1");
  EXPECT_EQ(parse(res.body).at("FunctionArn").as_string(),
            "arn:aws:lambda:us-east-1:000000000000:function:f:1");
  ASSERT_EQ(call("PUT", "/2015-03-31/functions/f/configuration", R"({"MemorySize":256})").status,
            200);
  res = call("POST", "/2015-03-31/functions/f/versions", R"({"Description":"second"})");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(parse(res.body).at("Version").as_string(), "2");
  res = call("GET", "/2015-03-31/functions/f/versions");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(parse(res.body).at("Versions").as_array().size(), 3u);

  res = call("POST", "/2015-03-31/functions/f/aliases",
             R"({"Name":"live","FunctionVersion":"1",)"
             R"("RoutingConfig":{"AdditionalVersionWeights":{"2":0.5}}})");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(parse(res.body).at("AliasArn").as_string(),
            "arn:aws:lambda:us-east-1:000000000000:function:f:live");
  std::set<std::string> versions;
  for (int i = 0; i < 200 && versions.size() < 2; ++i) {
    ASSERT_EQ(call("POST", "/2015-03-31/functions/f:live/invocations", "{}").status, 200);
    std::lock_guard lock(engine_.mu);
    versions.insert(engine_.requests.back().function->version);
    EXPECT_EQ(engine_.requests.back().invoked_qualifier, "live");
  }
  EXPECT_EQ(versions, (std::set<std::string>{"1", "2"}));

  ASSERT_EQ(call("POST", "/2015-03-31/functions/f/invocations?Qualifier=2", "{}").status, 200);
  {
    std::lock_guard lock(engine_.mu);
    EXPECT_EQ(engine_.requests.back().function->version, "2");
  }
  expectLambdaError(call("DELETE", "/2015-03-31/functions/f?Qualifier=1"), 409,
                    "ResourceConflictException");  // the alias routes to it
  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/f/aliases/live").status, 204);
  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/f?Qualifier=1").status, 204);
  expectLambdaError(call("POST", "/2015-03-31/functions/f:1/invocations", "{}"), 404,
                    "ResourceNotFoundException");
}

// Invocations resolve through a cache of specs; every change through the gateway must show in
// the next invocation.
TEST_F(LambdaApiTest, InvocationsSeeEveryStoredChange) {
  auto invokedVersion = [&](std::string target) {
    auto res = call("POST", "/2015-03-31/functions/" + target + "/invocations", "{}");
    EXPECT_EQ(res.status, 200) << res.body;
    std::lock_guard lock(engine_.mu);
    return engine_.requests.back().function;
  };
  ASSERT_EQ(call("POST", "/2015-03-31/functions", createBody("f")).status, 201);
  auto first = invokedVersion("f");
  EXPECT_EQ(invokedVersion("f"), first);  // warm: the same resolved spec
  ASSERT_EQ(call("PUT", "/2015-03-31/functions/f/configuration", R"({"MemorySize":256})").status,
            200);
  auto second = invokedVersion("f");
  EXPECT_EQ(second->memory_mb, 256);
  EXPECT_GT(second->revision, first->revision);
  ASSERT_EQ(call("POST", "/2015-03-31/functions/f/versions", "").status, 201);
  ASSERT_EQ(call("PUT", "/2015-03-31/functions/f/configuration", R"({"MemorySize":512})").status,
            200);
  ASSERT_EQ(call("POST", "/2015-03-31/functions/f/versions", "").status, 201);
  ASSERT_EQ(
      call("POST", "/2015-03-31/functions/f/aliases", R"({"Name":"live","FunctionVersion":"1"})")
          .status,
      201);
  EXPECT_EQ(invokedVersion("f:live")->version, "1");
  ASSERT_EQ(
      call("PUT", "/2015-03-31/functions/f/aliases/live", R"({"FunctionVersion":"2"})").status,
      200);
  EXPECT_EQ(invokedVersion("f:live")->version, "2");
  ASSERT_EQ(
      call("PUT", "/2017-10-31/functions/f/concurrency", R"({"ReservedConcurrentExecutions":5})")
          .status,
      200);
  EXPECT_EQ(invokedVersion("f:live")->reserved_concurrency, 5);
  ASSERT_EQ(call("POST", "/api/v1/functions", deployBody("f")).status, 200);  // the gust CLI
  EXPECT_EQ(invokedVersion("f")->memory_mb, 128);
  ASSERT_EQ(call("DELETE", "/api/v1/functions/f").status, 204);
  auto res = call("POST", "/2015-03-31/functions/f/invocations", "{}");
  EXPECT_EQ(res.status, 404) << res.body;
}

TEST_F(LambdaApiTest, ConcurrencySettings) {
  ASSERT_EQ(call("POST", "/2015-03-31/functions", createBody("f")).status, 201);
  auto res =
      call("PUT", "/2017-10-31/functions/f/concurrency", R"({"ReservedConcurrentExecutions":5})");
  ASSERT_EQ(res.status, 200) << res.body;
  res = call("GET", "/2019-09-30/functions/f/concurrency");
  EXPECT_EQ(parse(res.body).at("ReservedConcurrentExecutions").as_int64(), 5);
  {
    std::lock_guard lock(engine_.mu);
    ASSERT_FALSE(engine_.configured.empty());
    EXPECT_EQ(engine_.configured.back().reserved_concurrency, 5);
  }
  EXPECT_EQ(call("DELETE", "/2017-10-31/functions/f/concurrency").status, 204);
  EXPECT_EQ(call("GET", "/2019-09-30/functions/f/concurrency").body, "{}");

  ASSERT_EQ(call("POST", "/2015-03-31/functions/f/versions", "").status, 201);
  expectLambdaError(call("PUT", "/2019-09-30/functions/f/provisioned-concurrency",
                         R"({"ProvisionedConcurrentExecutions":2})"),
                    400, "InvalidParameterValueException");  // no qualifier
  res = call("PUT", "/2019-09-30/functions/f/provisioned-concurrency?Qualifier=1",
             R"({"ProvisionedConcurrentExecutions":2})");
  ASSERT_EQ(res.status, 202) << res.body;
  EXPECT_EQ(parse(res.body).at("Status").as_string(), "IN_PROGRESS");  // the engine is scripted
  {
    std::lock_guard lock(engine_.mu);
    bool provisioned = std::any_of(engine_.configured.begin(), engine_.configured.end(),
                                   [](const engine::FunctionSpec& s) {
                                     return s.version == "1" && s.provisioned_concurrency == 2;
                                   });
    EXPECT_TRUE(provisioned);
  }
  res = call("GET", "/2019-09-30/functions/f/provisioned-concurrency?List=ALL");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(parse(res.body).at("ProvisionedConcurrencyConfigs").as_array().size(), 1u);
  EXPECT_EQ(call("DELETE", "/2019-09-30/functions/f/provisioned-concurrency?Qualifier=1").status,
            204);
  expectLambdaError(call("GET", "/2019-09-30/functions/f/provisioned-concurrency?Qualifier=1"), 404,
                    "ProvisionedConcurrencyConfigNotFoundException");
}

TEST_F(LambdaApiTest, AccessKeysSignRequests) {
  auto res = call("POST", "/api/v1/credentials", R"({"description":"ci"})");
  ASSERT_EQ(res.status, 201) << res.body;
  auto key = parse(res.body);
  std::string id(key.at("access_key_id").as_string());
  std::string secret(key.at("secret_access_key").as_string());
  res = call("GET", "/api/v1/credentials");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.body.find(secret), std::string::npos);  // never shown again
  EXPECT_EQ(parse(res.body).at("credentials").at(0).at("description").as_string(), "ci");

  auto get = [&](std::string_view key_id, std::string_view sec,
                 std::chrono::system_clock::time_point when = std::chrono::system_clock::now()) {
    http::Request req;
    req.method = "GET";
    req.path = "/2015-03-31/functions/";
    req.target = "/2015-03-31/functions/?MaxItems=5";
    req.query = "MaxItems=5";
    req.headers = {{"host", "127.0.0.1:8080"}, {"x-amz-date", auth::amzDate(when)}};
    auth::SigV4Request s;
    s.method = req.method;
    s.path = req.path;
    s.query = req.query;
    for (const auto& h : req.headers) s.headers.emplace_back(h.name, h.value);
    req.headers.push_back(
        {"authorization",
         auth::authorizationHeader(s, key_id, sec, "us-east-1", "lambda", {"host", "x-amz-date"})});
    std::promise<http::Response> p;
    auto f = p.get_future();
    gateway_->handle(std::move(req), [&p](http::Response r) { p.set_value(std::move(r)); });
    return f.get();
  };
  res = get(id, secret);
  EXPECT_EQ(res.status, 200) << res.body;
  expectLambdaError(get(id, std::string(40, 'x')), 403, "InvalidSignatureException");
  expectLambdaError(get("GKIAUNKNOWNUNKNOWN22", secret), 403, "UnrecognizedClientException");
  expectLambdaError(get(id, secret, std::chrono::system_clock::now() - std::chrono::hours(1)), 403,
                    "InvalidSignatureException");
  EXPECT_EQ(call("DELETE", "/api/v1/credentials/" + id).status, 204);
  expectLambdaError(get(id, secret), 403, "UnrecognizedClientException");
  EXPECT_EQ(call("DELETE", "/api/v1/credentials/" + id).status, 404);
  EXPECT_EQ(call("POST", "/api/v1/credentials", R"({"description":1})").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/credentials", "", false).status, 401);
}

TEST(GatewayRefusal, LambdaPathsGetLambdasShape) {
  auto res = Gateway::refusal("/2015-03-31/functions?x=1", 413, "too big");
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(res.header("x-amzn-errortype"), "RequestTooLargeException");
  EXPECT_EQ(boost::json::parse(res.body).at("message").as_string(), "too big");
  res = Gateway::refusal("/api/v1/functions", 413, "too big");
  EXPECT_EQ(res.status, 413);
  EXPECT_FALSE(res.header("x-amzn-errortype").has_value());
  EXPECT_EQ(boost::json::parse(res.body).at("code").as_string(), "TooLarge");
  EXPECT_EQ(Gateway::refusal("", 400, "bad").status, 400);
}

TEST_F(LambdaApiTest, GetFunctionLinksTheCode) {
  ASSERT_EQ(call("POST", "/2015-03-31/functions", createBody("f")).status, 201);
  auto res = call("GET", "/2015-03-31/functions/f", "", true, {{"host", "127.0.0.1:8080"}});
  ASSERT_EQ(res.status, 200) << res.body;
  std::string location(parse(res.body).at("Code").at("Location").as_string());
  constexpr std::string_view kPrefix = "http://127.0.0.1:8080";
  ASSERT_TRUE(location.starts_with(kPrefix)) << location;
  std::string link = location.substr(kPrefix.size());
  res = call("GET", link, "", false);  // the link is its own credential
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("content-type"), "application/zip");
  EXPECT_EQ(res.body, control::zipDirectory(root_ / "fn").value());
  std::string tampered = link;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(call("GET", tampered, "", false).status, 403);
  size_t e = link.find("expires=") + 8;
  std::string expired = link.substr(0, e) + "1" + link.substr(link.find('&', e));
  EXPECT_EQ(call("GET", expired, "", false).status, 403);
  EXPECT_EQ(call("GET", link.substr(0, link.find('?')), "", false).status, 403);
}

}  // namespace
}  // namespace gust::gateway
