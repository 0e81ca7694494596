#include "gateway/lambda_json.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/crypto.h"

namespace gust::gateway::lambda {
namespace {

namespace json = boost::json;

TEST(FunctionRef, AcceptsEveryFormLambdaAccepts) {
  struct Case {
    std::string_view input;
    std::string name, qualifier;
  } cases[] = {
      {"f", "f", ""},
      {"f:live", "f", "live"},
      {"f:$LATEST", "f", "$LATEST"},
      {"123456789012:function:f", "f", ""},
      {"123456789012:function:f:7", "f", "7"},
      {"arn:aws:lambda:us-east-1:123456789012:function:f", "f", ""},
      {"arn:aws:lambda:eu-west-1:123456789012:function:f:live", "f", "live"},
  };
  for (const auto& c : cases) {
    auto ref = parseFunctionRef(c.input, std::nullopt);
    ASSERT_TRUE(ref.ok()) << c.input << ": " << ref.error().message;
    EXPECT_EQ(ref->name, c.name) << c.input;
    EXPECT_EQ(ref->qualifier, c.qualifier) << c.input;
  }
}

TEST(FunctionRef, QualifierParameterMustAgreeWithTheName) {
  auto ref = parseFunctionRef("f", std::string_view("2"));
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->qualifier, "2");
  EXPECT_TRUE(parseFunctionRef("f:2", std::string_view("2")).ok());
  auto mismatch = parseFunctionRef("f:2", std::string_view("3"));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos);
}

TEST(FunctionRef, RejectsMalformedNames) {
  for (std::string_view bad : {"", ":", "f:", "a:b:c", "arn:aws:lambda:us-east-1:1:layer:f",
                               "arn:aws:lambda:r:1:function:", "1:function:f:q:extra"}) {
    auto ref = parseFunctionRef(bad, std::nullopt);
    EXPECT_FALSE(ref.ok()) << bad;
    if (!ref.ok()) {
      EXPECT_EQ(ref.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(ref.error().message.find("full ARN"), std::string::npos);
    }
  }
}

TEST(FunctionConfiguration, ReportsLambdaFields) {
  store::FunctionRecord r;
  r.name = "f";
  r.runtime = "python3.11";
  r.handler = "app.handler";
  r.memory_mb = 256;
  r.timeout_s = 30;
  r.code_sha256 = sha256Hex("zip");
  r.code_size = 3;
  r.environment = {{"A", "b"}};
  r.revision_id = "rev";
  r.version = "$LATEST";
  Account account{"eu-west-1", "123456789012"};
  json::object o = functionConfiguration(account, r);
  EXPECT_EQ(o.at("FunctionArn"), "arn:aws:lambda:eu-west-1:123456789012:function:f");
  EXPECT_EQ(o.at("CodeSha256").as_string(), sha256Base64("zip"));
  EXPECT_EQ(o.at("MemorySize"), 256);
  EXPECT_EQ(o.at("Version"), "$LATEST");
  EXPECT_EQ(o.at("Environment").at("Variables").at("A"), "b");
  EXPECT_EQ(o.at("RevisionId"), "rev");
  EXPECT_EQ(o.at("State"), "Active");
  EXPECT_EQ(functionConfiguration(account, r, true).at("FunctionArn"),
            "arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST");
  r.version = "3";
  EXPECT_EQ(functionConfiguration(account, r).at("FunctionArn"),
            "arn:aws:lambda:eu-west-1:123456789012:function:f:3");
  r.environment.clear();
  EXPECT_FALSE(functionConfiguration(account, r).contains("Environment"));
}

TEST(CodeSha, Base64AndHexRoundTrip) {
  std::string hex = sha256Hex("abc");
  auto back = base64ToHex(hexToBase64(hex));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, hex);
  EXPECT_FALSE(base64ToHex("abc").has_value());
  EXPECT_FALSE(base64ToHex("!!!").has_value());
}

constexpr std::string_view kZip = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==";

std::string createBody(std::string_view extra = "") {
  return fmt::format(R"({{"FunctionName":"f","Runtime":"python3.11","Handler":"app.handler",)"
                     R"("Role":"arn:aws:iam::000000000000:role/r","Code":{{"ZipFile":"{}"}}{}}})",
                     kZip, extra);
}

TEST(CreateFunction, ParsesTheFieldsClientsSend) {
  auto in = parseCreateFunction(createBody(
      R"(,"MemorySize":512,"Timeout":60,"Description":"d","Publish":true,)"
      R"("Environment":{"Variables":{"K":"V"}},"EphemeralStorage":{"Size":1024},)"
      R"("Architectures":["x86_64"],"PackageType":"Zip","TracingConfig":{"Mode":"PassThrough"})"));
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->deploy.config.name, "f");
  EXPECT_EQ(in->deploy.config.memory_mb, 512);
  EXPECT_EQ(in->deploy.config.timeout_s, 60);
  EXPECT_EQ(in->deploy.config.ephemeral_storage_mb, 1024);
  EXPECT_EQ(in->deploy.config.environment.at("K"), "V");
  EXPECT_EQ(in->role, "arn:aws:iam::000000000000:role/r");
  EXPECT_TRUE(in->publish);
  std::string zip;
  ASSERT_TRUE(base64Decode(kZip, zip));
  EXPECT_EQ(in->deploy.zip, zip);
}

TEST(CreateFunction, ErrorsNameTheField) {
  struct Case {
    std::string body;
    std::string_view expect;
  } cases[] = {
      {R"({"Runtime":"python3.11"})", "FunctionName: is required"},
      {createBody(R"(,"MemorySize":64)"), "MemorySize: 64 is out of range; allowed: 128 to 10240"},
      {createBody(R"(,"Timeout":"3")"), "Timeout: must be an integer"},
      {createBody(R"(,"Timeout":901)"), "Timeout: 901 is out of range"},
      {createBody(R"(,"EphemeralStorage":{"Size":511})"),
       "EphemeralStorage.Size: 511 is out of range; allowed: 512 to 10240"},
      {createBody(R"(,"VpcConfig":{"SubnetIds":["s"]})"), "VpcConfig: not supported"},
      {createBody(R"(,"Layers":["arn:x"])"), "Layers: not supported"},
      {createBody(R"(,"Architectures":["arm64"])"), "Architectures other than"},
      {createBody(R"(,"Bogus":1)"), "unknown field 'Bogus'"},
      {createBody(R"(,"Environment":{"Variables":{"K":1}})"), "Environment.Variables.K: must be"},
      {R"({"FunctionName":"f","Runtime":"python3.11","Handler":"a.b","Code":{"S3Bucket":"b"}})",
       "Code.S3Bucket: code from S3"},
      {R"({"FunctionName":"f","Runtime":"python3.11","Handler":"a.b","Code":{"ZipFile":"%%"}})",
       "Code.ZipFile: is not valid base64"},
      {R"({"FunctionName":"f:1","Runtime":"python3.11","Handler":"a.b","Code":{"ZipFile":"UEs="}})",
       "has a qualifier"},
      {"[1]", "must be a JSON object"},
  };
  for (const auto& c : cases) {
    auto in = parseCreateFunction(c.body);
    ASSERT_FALSE(in.ok()) << c.body;
    EXPECT_EQ(in.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(in.error().message.find(c.expect), std::string::npos)
        << c.body << " -> " << in.error().message;
  }
}

TEST(UpdateConfiguration, ChangesOnlyTheFieldsGiven) {
  auto u = parseUpdateConfiguration(R"({"MemorySize":1024,"RevisionId":"r1"})");
  ASSERT_TRUE(u.ok()) << u.error().message;
  control::FunctionConfig c;
  c.handler = "app.handler";
  c.timeout_s = 9;
  applyUpdate(*u, c);
  EXPECT_EQ(c.memory_mb, 1024);
  EXPECT_EQ(c.timeout_s, 9);
  EXPECT_EQ(c.handler, "app.handler");
  EXPECT_EQ(u->revision_id, "r1");
  EXPECT_FALSE(parseUpdateConfiguration(R"({"FunctionName":"f"})").ok());
  EXPECT_FALSE(parseUpdateConfiguration(R"({"LoggingConfig":{"LogFormat":"JSON"}})").ok());
}

TEST(UpdateCode, NeedsAZip) {
  auto u = parseUpdateCode(fmt::format(R"({{"ZipFile":"{}","Publish":true}})", kZip));
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_TRUE(u->publish);
  EXPECT_FALSE(u->dry_run);
  auto s3 = parseUpdateCode(R"({"S3Bucket":"b","S3Key":"k"})");
  ASSERT_FALSE(s3.ok());
  EXPECT_NE(s3.error().message.find("S3"), std::string::npos);
  EXPECT_FALSE(parseUpdateCode("{}").ok());
}

TEST(PublishVersion, TakesCodeSha256AsBase64) {
  auto empty = parsePublishVersion("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->code_sha256_hex.empty());
  auto in = parsePublishVersion(
      fmt::format(R"({{"CodeSha256":"{}","Description":"v"}})", sha256Base64("zip")));
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->code_sha256_hex, sha256Hex("zip"));
  EXPECT_EQ(in->description, "v");
  EXPECT_FALSE(parsePublishVersion(R"({"CodeSha256":"abc"})").ok());
}

TEST(Alias, ParsesRoutingConfig) {
  auto in = parseAlias(
      R"({"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}}})",
      true);
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->name, "live");
  EXPECT_EQ(in->function_version, "1");
  EXPECT_DOUBLE_EQ(in->weights.at("2"), 0.25);
  EXPECT_FALSE(parseAlias(R"({"Name":"live"})", true).ok());
  auto update = parseAlias(R"({"RoutingConfig":{"AdditionalVersionWeights":{}}})", false);
  ASSERT_TRUE(update.ok());
  EXPECT_TRUE(update->has_routing);
  EXPECT_FALSE(update->has_version);
  EXPECT_FALSE(parseAlias(R"({"Name":"x"})", false).ok());
  EXPECT_FALSE(
      parseAlias(R"({"RoutingConfig":{"AdditionalVersionWeights":{"2":"a"}}})", false).ok());
}

TEST(Concurrency, RangesAreChecked) {
  EXPECT_EQ(*parseReservedConcurrency(R"({"ReservedConcurrentExecutions":0})"), 0);
  EXPECT_FALSE(parseReservedConcurrency(R"({"ReservedConcurrentExecutions":-1})").ok());
  EXPECT_FALSE(parseReservedConcurrency(R"({"ReservedConcurrentExecutions":1001})").ok());
  EXPECT_FALSE(parseReservedConcurrency("{}").ok());
  EXPECT_EQ(*parseProvisionedConcurrency(R"({"ProvisionedConcurrentExecutions":2})"), 2);
  EXPECT_FALSE(parseProvisionedConcurrency(R"({"ProvisionedConcurrentExecutions":0})").ok());
}

}  // namespace
}  // namespace gust::gateway::lambda
