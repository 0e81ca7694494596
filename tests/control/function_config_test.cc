#include "control/function_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto.h"

namespace gust::control {
namespace {

using ::testing::HasSubstr;

FunctionConfig validConfig() {
  FunctionConfig c;
  c.name = "hello-world_1";
  c.runtime = "python3.11";
  c.handler = "app.handler";
  c.memory_mb = 256;
  c.timeout_s = 10;
  c.environment = {{"GREETING", "hi"}, {"LOG_LEVEL", "debug"}};
  c.description = "says hello";
  return c;
}

// The error message of validating `c`, or "" if it is valid.
std::string invalidBecause(const FunctionConfig& c) {
  Status s = validateConfig(c);
  if (s.ok()) return "";
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  return s.error().message;
}

TEST(ValidateConfigTest, AcceptsAValidConfig) { EXPECT_EQ(invalidBecause(validConfig()), ""); }

TEST(ValidateConfigTest, AcceptsTheLimits) {
  FunctionConfig c = validConfig();
  c.name = std::string(64, 'a');
  c.memory_mb = kMinMemoryMb;
  c.timeout_s = kMaxTimeoutS;
  c.description = std::string(256, 'd');
  EXPECT_EQ(invalidBecause(c), "");
  c.memory_mb = kMaxMemoryMb;
  c.timeout_s = kMinTimeoutS;
  EXPECT_EQ(invalidBecause(c), "");
}

TEST(ValidateConfigTest, RejectsBadNames) {
  FunctionConfig c = validConfig();
  c.name = "";
  EXPECT_THAT(invalidBecause(c), HasSubstr("name: is empty"));
  c.name = std::string(65, 'a');
  EXPECT_THAT(invalidBecause(c), HasSubstr("is 65 characters long; allowed: 1 to 64"));
  c.name = "has space";
  EXPECT_THAT(invalidBecause(c), HasSubstr("name: \"has space\" contains \" \""));
  c.name = "../etc";
  EXPECT_THAT(invalidBecause(c), HasSubstr("name:"));
  c.name = "tab\there";
  EXPECT_THAT(invalidBecause(c), HasSubstr("\\x09"));  // control bytes are escaped
}

TEST(ValidateConfigTest, RejectsUnsupportedRuntimes) {
  FunctionConfig c = validConfig();
  c.runtime = "python2.7";
  EXPECT_EQ(invalidBecause(c),
            "runtime: \"python2.7\" is not supported; allowed: python3.11, nodejs20.x, provided, "
            "exec");
}

TEST(ValidateConfigTest, ChecksPythonHandlers) {
  FunctionConfig c = validConfig();
  for (const char* ok :
       {"app.handler", "src/app.handler", "pkg.app.handler", "_m.f_1", "a/b/c.main"}) {
    c.handler = ok;
    EXPECT_EQ(invalidBecause(c), "") << ok;
  }
  for (const char* bad : {"app", "app.", ".handler", "1app.handler", "../app.handler",
                          "/app.handler", "app.handler-x", "a//b.f", "app.h x", ""}) {
    c.handler = bad;
    EXPECT_THAT(invalidBecause(c), HasSubstr("handler:")) << bad;
  }
  c.handler = "app";
  EXPECT_THAT(invalidBecause(c), HasSubstr("allowed: module.function"));
}

TEST(ValidateConfigTest, RangeErrorsNameTheFieldTheValueAndTheRange) {
  FunctionConfig c = validConfig();
  c.memory_mb = 64;
  EXPECT_EQ(invalidBecause(c), "memory: 64 is out of range; allowed: 128 to 10240 (MB)");
  c.memory_mb = 10241;
  EXPECT_THAT(invalidBecause(c), HasSubstr("memory: 10241 is out of range"));
  c = validConfig();
  c.timeout_s = 0;
  EXPECT_EQ(invalidBecause(c), "timeout: 0 is out of range; allowed: 1 to 900 (seconds)");
  c.timeout_s = 901;
  EXPECT_THAT(invalidBecause(c), HasSubstr("timeout: 901"));
}

TEST(ValidateConfigTest, ChecksEnvironmentNames) {
  FunctionConfig c = validConfig();
  for (const char* bad : {"1ABC", "_X", "A-B", "A B", "", "É"}) {
    c.environment = {{bad, "v"}};
    EXPECT_THAT(invalidBecause(c), HasSubstr("environment: variable name")) << bad;
  }
  c.environment = {{"a1_B", "v"}};
  EXPECT_EQ(invalidBecause(c), "");
}

TEST(ValidateConfigTest, RejectsReservedEnvironmentNames) {
  FunctionConfig c = validConfig();
  for (const char* reserved : {"AWS_REGION", "AWS_LAMBDA_RUNTIME_API", "AWS_SECRET_ACCESS_KEY",
                               "LAMBDA_TASK_ROOT", "_HANDLER", "TZ"}) {
    c.environment = {{reserved, "x"}};
    EXPECT_THAT(invalidBecause(c), HasSubstr("is reserved")) << reserved;
  }
  c.environment = {{"AWS_REGIONS", "x"}};  // only exact names are reserved
  EXPECT_EQ(invalidBecause(c), "");
}

TEST(ValidateConfigTest, LimitsTheEnvironmentSize) {
  FunctionConfig c = validConfig();
  c.environment = {{"BIG", std::string(kMaxEnvironmentBytes - 3, 'x')}};
  EXPECT_EQ(invalidBecause(c), "");
  c.environment["A"] = "";
  EXPECT_THAT(invalidBecause(c), HasSubstr("environment: variables take 4097 bytes"));
}

TEST(ValidateConfigTest, LimitsTheDescriptionInCharacters) {
  FunctionConfig c = validConfig();
  std::string e_acute = "\xc3\xa9";
  c.description.clear();
  for (int i = 0; i < 256; ++i) c.description += e_acute;  // 512 bytes, 256 characters
  EXPECT_EQ(invalidBecause(c), "");
  c.description += "x";
  EXPECT_THAT(invalidBecause(c), HasSubstr("description: is 257 characters long"));
}

// --- manifests ------------------------------------------------------------------------------

TEST(ParseManifestTest, ParsesEveryKey) {
  auto c = parseManifest(R"(
name: hello
runtime: python3.11
handler: src/app.handler
memory: 512
timeout: 30
description: "says: hello"
environment:
  GREETING: hi
  PORT: 8080
  DEBUG: true
  EMPTY: ""
)",
                         "gust.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "hello");
  EXPECT_EQ(c->runtime, "python3.11");
  EXPECT_EQ(c->handler, "src/app.handler");
  EXPECT_EQ(c->memory_mb, 512);
  EXPECT_EQ(c->timeout_s, 30);
  EXPECT_EQ(c->description, "says: hello");
  std::map<std::string, std::string> env = {
      {"GREETING", "hi"}, {"PORT", "8080"}, {"DEBUG", "true"}, {"EMPTY", ""}};
  EXPECT_EQ(c->environment, env);
}

TEST(ParseManifestTest, AppliesDefaults) {
  auto c = parseManifest("name: f\nruntime: python3.11\nhandler: app.handler\n", "gust.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->memory_mb, 128);
  EXPECT_EQ(c->timeout_s, 3);
  EXPECT_TRUE(c->environment.empty());
  EXPECT_EQ(c->description, "");
}

// The error message of parsing `yaml`, which must fail.
std::string manifestError(const std::string& yaml) {
  auto c = parseManifest(yaml, "gust.yaml");
  EXPECT_FALSE(c.ok()) << yaml;
  if (c.ok()) return "";
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  return c.error().message;
}

constexpr const char* kBase = "name: f\nruntime: python3.11\nhandler: app.handler\n";

TEST(ParseManifestTest, RejectsUnknownKeysListingTheAllowedOnes) {
  std::string msg = manifestError(std::string(kBase) + "memroy: 256\n");
  EXPECT_THAT(msg, HasSubstr("gust.yaml: unknown key \"memroy\""));
  EXPECT_THAT(msg, HasSubstr("allowed keys: name, runtime, handler, memory, timeout, "
                             "environment, description"));
}

TEST(ParseManifestTest, RejectsWrongTypes) {
  EXPECT_THAT(manifestError(std::string(kBase) + "memory: lots\n"),
              HasSubstr("memory: expected an integer (MB), got \"lots\""));
  EXPECT_THAT(manifestError(std::string(kBase) + "memory: 128.5\n"),
              HasSubstr("memory: expected an integer"));
  EXPECT_THAT(manifestError(std::string(kBase) + "timeout: [1, 2]\n"),
              HasSubstr("timeout: expected an integer (seconds), got a list"));
  EXPECT_THAT(manifestError("name: {a: b}\nruntime: python3.11\nhandler: app.handler\n"),
              HasSubstr("name: expected a string, got a map"));
  EXPECT_THAT(manifestError(std::string(kBase) + "environment: [A, B]\n"),
              HasSubstr("environment: expected a map"));
  EXPECT_THAT(manifestError(std::string(kBase) + "environment:\n  A: [1]\n"),
              HasSubstr("environment.A: expected a string, number or boolean, got a list"));
  EXPECT_THAT(manifestError(std::string(kBase) + "environment:\n  A:\n"),
              HasSubstr("environment.A: expected a string"));
  EXPECT_THAT(manifestError(std::string(kBase) + "memory: 99999999999999999999999\n"),
              HasSubstr("memory: \"99999999999999999999999\" is out of range"));
}

TEST(ParseManifestTest, RejectsMissingRequiredKeys) {
  EXPECT_THAT(manifestError("name: f\nruntime: python3.11\n"),
              HasSubstr("gust.yaml: handler: is missing"));
  EXPECT_THAT(manifestError("runtime: python3.11\nhandler: a.b\n"), HasSubstr("name: is missing"));
}

TEST(ParseManifestTest, RejectsDuplicateKeys) {
  EXPECT_THAT(manifestError(std::string(kBase) + "name: g\n"), HasSubstr("is set twice"));
}

TEST(ParseManifestTest, ValidatesTheConfig) {
  EXPECT_EQ(manifestError(std::string(kBase) + "memory: 64\n"),
            "gust.yaml: memory: 64 is out of range; allowed: 128 to 10240 (MB)");
  EXPECT_THAT(manifestError(std::string(kBase) + "environment:\n  AWS_REGION: x\n"),
              HasSubstr("is reserved"));
}

TEST(ParseManifestTest, ReportsMalformedYamlWithLineAndColumn) {
  std::string msg = manifestError("name: f\nruntime: [python3.11\nhandler: a.b\n");
  EXPECT_THAT(msg, ::testing::MatchesRegex("gust\\.yaml:[0-9]+:[0-9]+: invalid YAML: .*"));
  msg = manifestError("name: f\n  bad indent: x\n");
  EXPECT_THAT(msg, HasSubstr("gust.yaml:2:"));
}

TEST(ParseManifestTest, RejectsDocumentsThatAreNotMaps) {
  EXPECT_THAT(manifestError(""), HasSubstr("gust.yaml: is empty"));
  EXPECT_THAT(manifestError("- a\n- b\n"), HasSubstr("expected a map of settings"));
  EXPECT_THAT(manifestError("just text"), HasSubstr("expected a map of settings"));
}

// --- deploy requests -----------------------------------------------------------------------

TEST(DeployRequestTest, RoundTripsThroughJson) {
  FunctionConfig c = validConfig();
  std::string zip("PK\3\4 binary \0\xff bytes", 20);
  auto parsed = parseDeployRequest(deployRequestToJson(c, zip));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->config, c);
  EXPECT_EQ(parsed->zip, zip);
}

TEST(DeployRequestTest, AppliesDefaults) {
  auto parsed = parseDeployRequest(
      R"({"name":"f","runtime":"python3.11","handler":"app.handler","code_zip_base64":"UEs="})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->config.memory_mb, 128);
  EXPECT_EQ(parsed->config.timeout_s, 3);
  EXPECT_EQ(parsed->zip, "PK");
}

std::string deployError(const std::string& json) {
  auto r = parseDeployRequest(json);
  EXPECT_FALSE(r.ok()) << json;
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().message;
}

TEST(DeployRequestTest, RejectsBadRequests) {
  const std::string head = R"({"name":"f","runtime":"python3.11","handler":"app.handler")";
  EXPECT_THAT(deployError(head + "}"), HasSubstr("code_zip_base64: is missing"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":"not base64!"})"),
              HasSubstr("code_zip_base64: is not valid base64"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":""})"), HasSubstr("is empty"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":"UEs=","memroy":1})"),
              HasSubstr("unknown key \"memroy\"; allowed keys: name, runtime"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":"UEs=","memory":"256"})"),
              HasSubstr("memory: expected an integer, got a string"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":"UEs=","memory":256.5})"),
              HasSubstr("memory: expected an integer"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":"UEs=","memory":99999999999})"),
              HasSubstr("memory: 99999999999 is out of range"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":"UEs=","timeout":0})"),
              HasSubstr("timeout: 0 is out of range"));
  EXPECT_THAT(deployError(head + R"(,"code_zip_base64":"UEs=","environment":{"A":1}})"),
              HasSubstr("environment.A: expected a string, got an integer"));
  EXPECT_THAT(deployError(R"({"runtime":"python3.11","handler":"a.b","code_zip_base64":"UEs="})"),
              HasSubstr("name: is missing"));
  EXPECT_THAT(deployError("{\"name\": "), HasSubstr("deploy request: invalid JSON"));
  EXPECT_THAT(deployError("[1,2]"), HasSubstr("expected a JSON object, got an array"));
  EXPECT_THAT(deployError(""), HasSubstr("invalid JSON"));
}

// --- function records ------------------------------------------------------------------------

store::FunctionRecord sampleRecord() {
  store::FunctionRecord r;
  r.name = "f";
  r.runtime = "python3.11";
  r.handler = "app.handler";
  r.memory_mb = 512;
  r.timeout_s = 60;
  r.environment = {{"A", "1"}, {"QUOTE", "\"\n"}};
  r.description = "d";
  r.code_sha256 = sha256Hex("zip");
  r.code_size = 3;
  r.last_modified = "2026-11-24T20:46:29.123+0000";
  r.revision = 7;
  return r;
}

TEST(FunctionJsonTest, RoundTrips) {
  store::FunctionRecord r = sampleRecord();
  std::string json = functionToJson(r);
  EXPECT_THAT(json, HasSubstr("\"code_sha256\":\"" + r.code_sha256 + "\""));
  EXPECT_THAT(json, HasSubstr("\"last_modified\":\"2026-11-24T20:46:29.123+0000\""));
  auto back = functionFromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);
}

TEST(FunctionJsonTest, ListsAreWrappedInAnObject) {
  EXPECT_EQ(functionsToJson({}), R"({"functions":[]})");
  std::string json = functionsToJson({sampleRecord(), sampleRecord()});
  EXPECT_EQ(json, "{\"functions\":[" + functionToJson(sampleRecord()) + "," +
                      functionToJson(sampleRecord()) + "]}");
}

TEST(FunctionJsonTest, RejectsMalformedRecords) {
  EXPECT_FALSE(functionFromJson("nope").ok());
  EXPECT_FALSE(functionFromJson(R"({"runtime":"python3.11","handler":"a.b"})").ok());
  auto bad =
      functionFromJson(R"({"name":"f","runtime":"python3.11","handler":"a.b","memory":"x"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("memory: expected an integer"));
  // Fields a newer server adds are ignored.
  EXPECT_TRUE(
      functionFromJson(R"({"name":"f","runtime":"python3.11","handler":"a.b","new":1})").ok());
}

}  // namespace
}  // namespace gust::control

namespace gust::control {
namespace {

TEST(ScalingConfigTest, ManifestAndJsonCarryTheNewFields) {
  auto c = parseManifest(R"(
name: f
runtime: python3.11
handler: app.handler
reserved_concurrency: 5
provisioned_concurrency: 2
ephemeral_storage: 1024
network: egress
)",
                         "gust.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->reserved_concurrency, std::optional<int>(5));
  EXPECT_EQ(c->provisioned_concurrency, 2);
  EXPECT_EQ(c->ephemeral_storage_mb, 1024);
  EXPECT_EQ(c->network, "egress");
  auto back = parseDeployRequest(deployRequestToJson(*c, "zip"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->config, *c);

  auto defaults = parseManifest("name: f\nruntime: python3.11\nhandler: app.handler\n", "m");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->reserved_concurrency, std::nullopt);
  EXPECT_EQ(defaults->provisioned_concurrency, 0);
  EXPECT_EQ(defaults->ephemeral_storage_mb, 512);
  EXPECT_EQ(defaults->network, "none");
  auto null_reserved = parseManifest(
      "name: f\nruntime: python3.11\nhandler: app.handler\nreserved_concurrency:\n", "m");
  ASSERT_TRUE(null_reserved.ok());
  EXPECT_EQ(null_reserved->reserved_concurrency, std::nullopt);
  auto zero = parseManifest(
      "name: f\nruntime: python3.11\nhandler: app.handler\nreserved_concurrency: 0\n", "m");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->reserved_concurrency, std::optional<int>(0));
}

TEST(ScalingConfigTest, ValidationNamesTheFieldAndTheRange) {
  FunctionConfig c = validConfig();
  c.reserved_concurrency = -1;
  EXPECT_THAT(invalidBecause(c), HasSubstr("reserved_concurrency: -1 is out of range"));
  c.reserved_concurrency = kAccountConcurrencyLimit + 1;
  EXPECT_THAT(invalidBecause(c), HasSubstr("reserved_concurrency: 1001 is out of range"));
  c.reserved_concurrency = 2;
  c.provisioned_concurrency = 3;
  EXPECT_THAT(invalidBecause(c), HasSubstr("provisioned_concurrency: 3 is more than "
                                           "reserved_concurrency (2)"));
  c.reserved_concurrency.reset();
  c.provisioned_concurrency = kAccountConcurrencyLimit;
  EXPECT_EQ(invalidBecause(c), "");
  c.provisioned_concurrency = -2;
  EXPECT_THAT(invalidBecause(c), HasSubstr("provisioned_concurrency: -2 is out of range"));
  c.provisioned_concurrency = 0;
  c.ephemeral_storage_mb = 511;
  EXPECT_THAT(invalidBecause(c), HasSubstr("ephemeral_storage: 511 is out of range; allowed: 512 "
                                           "to 10240 (MB of /tmp)"));
  c.ephemeral_storage_mb = 10240;
  EXPECT_EQ(invalidBecause(c), "");
  c.network = "host";
  EXPECT_THAT(invalidBecause(c),
              HasSubstr("network: \"host\" is not a network mode; allowed: none, egress"));
  auto wrong_type = parseDeployRequest(
      R"({"name":"f","runtime":"python3.11","handler":"a.b","code_zip_base64":"eg==",)"
      R"("reserved_concurrency":"5"})");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_THAT(wrong_type.error().message,
              HasSubstr("reserved_concurrency: expected an integer, got a string"));
}

TEST(ScalingConfigTest, FunctionJsonRoundTripsTheNewFields) {
  store::FunctionRecord r;
  r.name = "f";
  r.runtime = "python3.11";
  r.handler = "a.b";
  r.reserved_concurrency = 0;
  r.provisioned_concurrency = 0;
  r.ephemeral_storage_mb = 4096;
  r.network = "egress";
  std::string json = functionToJson(r);
  EXPECT_THAT(json, HasSubstr("\"reserved_concurrency\":0"));
  auto back = functionFromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);
  r.reserved_concurrency.reset();
  json = functionToJson(r);
  EXPECT_THAT(json, HasSubstr("\"reserved_concurrency\":null"));
  EXPECT_EQ(functionFromJson(json)->reserved_concurrency, std::nullopt);
}

}  // namespace
}  // namespace gust::control

namespace gust::control {
namespace {

TEST(InvokesConfigTest, ManifestDeployJsonAndFunctionJsonCarryTheList) {
  auto c = parseManifest(std::string(kBase) + "invokes: [callee, other:live, third:$LATEST, v:7]\n",
                         "gust.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->invokes, (std::vector<std::string>{"callee", "other:live", "third:$LATEST", "v:7"}));
  auto back = parseDeployRequest(deployRequestToJson(*c, "zip"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->config.invokes, c->invokes);

  store::FunctionRecord r;
  r.name = "f";
  r.runtime = "python3.11";
  r.handler = "a.b";
  r.invokes = c->invokes;
  auto record = functionFromJson(functionToJson(r));
  ASSERT_TRUE(record.ok()) << record.error().message;
  EXPECT_EQ(record->invokes, r.invokes);

  auto none = parseManifest(std::string(kBase) + "invokes:\n", "gust.yaml");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->invokes.empty());
  auto block = parseManifest(std::string(kBase) + "invokes:\n  - a\n  - b\n", "gust.yaml");
  ASSERT_TRUE(block.ok()) << block.error().message;
  EXPECT_EQ(block->invokes, (std::vector<std::string>{"a", "b"}));
}

TEST(InvokesConfigTest, ValidationNamesTheEntryAndWhatIsAllowed) {
  EXPECT_THAT(manifestError(std::string(kBase) + "invokes: callee\n"),
              HasSubstr("invokes: expected a list of function names"));
  EXPECT_THAT(manifestError(std::string(kBase) + "invokes: [[a]]\n"),
              HasSubstr("invokes[]: expected a string, got a list"));
  FunctionConfig c = validConfig();
  c.invokes = {"a b"};
  EXPECT_THAT(invalidBecause(c), HasSubstr("invokes: \"a b\" does not name a function"));
  c.invokes = {""};
  EXPECT_THAT(invalidBecause(c), HasSubstr("invokes: \"\" does not name a function"));
  c.invokes = {":live"};
  EXPECT_THAT(invalidBecause(c), HasSubstr("does not name a function"));
  for (const char* bad : {"f:", "f:01", "f:a:b", "f:$latest", "f:12345678901", "f:a.b"}) {
    c.invokes = {bad};
    EXPECT_THAT(invalidBecause(c), HasSubstr("has the qualifier")) << bad;
  }
  c.invokes = {"f", "f"};
  EXPECT_THAT(invalidBecause(c), HasSubstr("invokes: \"f\" is listed twice"));
  c.invokes.assign(kMaxInvokesEntries + 1, "f");
  EXPECT_THAT(invalidBecause(c), HasSubstr("allowed: at most 100"));
  c.invokes = {"f", "f:1", "f:live", "f:$LATEST",
               std::string(64, 'x') + ":" + std::string(128, 'a')};
  EXPECT_EQ(invalidBecause(c), "");
  auto json = parseDeployRequest(
      R"({"name":"f","runtime":"python3.11","handler":"a.b","code_zip_base64":"eg==",)"
      R"("invokes":"callee"})");
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.error().message, HasSubstr("invokes: expected an array of function names"));
  EXPECT_THAT(
      manifestError(std::string(kBase) + "environment:\n  AWS_ENDPOINT_URL_LAMBDA: http://x\n"),
      HasSubstr("is reserved"));
}

TEST(InvokesConfigTest, ABareNameAllowsEveryQualifierAQualifiedEntryOnlyItsOwn) {
  std::vector<std::string> invokes = {"callee", "other:live", "latest:$LATEST"};
  EXPECT_TRUE(invokeAllowed(invokes, "callee", ""));
  EXPECT_TRUE(invokeAllowed(invokes, "callee", "3"));
  EXPECT_TRUE(invokeAllowed(invokes, "callee", "live"));
  EXPECT_TRUE(invokeAllowed(invokes, "other", "live"));
  EXPECT_FALSE(invokeAllowed(invokes, "other", ""));
  EXPECT_FALSE(invokeAllowed(invokes, "other", "1"));
  EXPECT_TRUE(invokeAllowed(invokes, "latest", ""));
  EXPECT_TRUE(invokeAllowed(invokes, "latest", "$LATEST"));
  EXPECT_FALSE(invokeAllowed(invokes, "latest", "2"));
  // Prefixes of names are other functions.
  EXPECT_FALSE(invokeAllowed(invokes, "call", ""));
  EXPECT_FALSE(invokeAllowed(invokes, "callee2", ""));
  EXPECT_FALSE(invokeAllowed({}, "callee", ""));
}

TEST(ManifestSchedulesTest, ParsesSchedulesWithDefaultNamesAndRoundTrips) {
  auto c = parseManifest(std::string(kBase) + R"(schedules:
  - expression: rate(5 minutes)
  - name: nightly
    expression: cron(0 2 * * ? *)
    qualifier: live
    input: '{"kind": "nightly"}'
    description: the nightly run
    enabled: false
)",
                         "gust.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->schedules);
  ASSERT_EQ(c->schedules->size(), 2u);
  EXPECT_EQ((*c->schedules)[0].name, "f-schedule-1");
  EXPECT_EQ((*c->schedules)[0].expression, "rate(5 minutes)");
  EXPECT_TRUE((*c->schedules)[0].enabled);
  EXPECT_FALSE((*c->schedules)[0].input);
  const ManifestSchedule& nightly = (*c->schedules)[1];
  EXPECT_EQ(nightly.name, "nightly");
  EXPECT_EQ(nightly.qualifier, "live");
  EXPECT_EQ(nightly.input, std::optional<std::string>(R"({"kind": "nightly"})"));
  EXPECT_EQ(nightly.description, "the nightly run");
  EXPECT_FALSE(nightly.enabled);
  auto back = parseDeployRequest(deployRequestToJson(*c, "zip"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->config, *c);
}

TEST(ManifestSchedulesTest, NoSchedulesKeyMeansNoneButAnOldDeployRequestSaysNothing) {
  auto c = parseManifest(kBase, "gust.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->schedules,
            std::optional<std::vector<ManifestSchedule>>(std::vector<ManifestSchedule>{}));
  FunctionConfig old = *c;
  old.schedules.reset();
  auto parsed = parseDeployRequest(deployRequestToJson(old, "zip"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->config.schedules);
}

TEST(ManifestSchedulesTest, RejectsMalformedSchedules) {
  EXPECT_THAT(manifestError(std::string(kBase) + "schedules: rate(5 minutes)\n"),
              HasSubstr("schedules: expected a list"));
  EXPECT_THAT(manifestError(std::string(kBase) + "schedules:\n  - rate(5 minutes)\n"),
              HasSubstr("schedules[0]: expected a map with an expression"));
  EXPECT_THAT(manifestError(std::string(kBase) + "schedules:\n  - name: x\n"),
              HasSubstr("schedules[0].expression: is missing"));
  EXPECT_THAT(
      manifestError(std::string(kBase) + "schedules:\n  - expression: rate(1 hour)\n    cron: x\n"),
      HasSubstr("schedules[0]: unknown key \"cron\""));
  EXPECT_THAT(manifestError(std::string(kBase) +
                            "schedules:\n  - expression: rate(1 hour)\n    enabled: maybe\n"),
              HasSubstr("expected true or false"));
  EXPECT_THAT(manifestError(std::string(kBase) +
                            "schedules:\n  - expression: rate(1 hour)\n    input: {a: 1}\n"),
              HasSubstr("expected JSON text in a string"));
  EXPECT_THAT(manifestError(std::string(kBase) + "schedules:\n  - name: a\n    expression: "
                                                 "rate(1 hour)\n  - name: a\n    expression: "
                                                 "rate(2 hours)\n"),
              HasSubstr("the name \"a\" is used twice"));
}

}  // namespace
}  // namespace gust::control
