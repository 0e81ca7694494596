#include "auth/sigv4.h"

#include <stdio.h>
#include <sys/wait.h>

#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/crypto.h"

namespace gust::auth {
namespace {

using namespace std::chrono_literals;

// A request that owns its strings; view() is what the verifier takes.
struct OwnedRequest {
  std::string method = "GET";
  std::string path = "/";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  SigV4Request view() const {
    SigV4Request r{method, path, query, {}, body};
    for (const auto& [n, v] : headers) r.headers.emplace_back(n, v);
    return r;
  }
  std::string* header(std::string_view name) {
    for (auto& [n, v] : headers) {
      std::string lower = n;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == name) return &v;
    }
    return nullptr;
  }
};

std::chrono::system_clock::time_point at(std::string_view amz_date) {
  std::chrono::system_clock::time_point t;
  EXPECT_TRUE(parseAmzDate(amz_date, t)) << amz_date;
  return t;
}

SecretLookup oneKey(std::string id, std::string secret) {
  return [id, secret](std::string_view asked) -> Result<std::string> {
    if (asked == id) return secret;
    return Error::notFound("no such key");
  };
}

// ---------------------------------------------------------------------------------------------
// AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite, as in AWS's "Signature
// Version 4 test suite" documentation): credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z,
// us-east-1, service "service". Each signature below was also reproduced with botocore.

constexpr std::string_view kSuiteKeyId = "AKIDEXAMPLE";
constexpr std::string_view kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kSuiteDate = "20150830T123600Z";

struct SuiteCase {
  std::string name;
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::string body;
  std::string signed_headers;
  std::string signature;
};

std::vector<SuiteCase> suiteCases() {
  const std::string vanilla_sh = "host;x-amz-date";
  const std::string unreserved =
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return {
      {"get-vanilla",
       "GET",
       "/",
       "",
       {},
       "",
       vanilla_sh,
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla",
       "POST",
       "/",
       "",
       {},
       "",
       vanilla_sh,
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       "Param2=value2&Param1=value1",
       {},
       "",
       vanilla_sh,
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-empty-query-key",
       "GET",
       "/",
       "Param1=value1",
       {},
       "",
       vanilla_sh,
       "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
      {"get-vanilla-query-order-key",
       "GET",
       "/",
       "Param1=value2&Param1=Value1",
       {},
       "",
       vanilla_sh,
       "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
      {"get-vanilla-query-order-value",
       "GET",
       "/",
       "Param1=value2&Param1=value1",
       {},
       "",
       vanilla_sh,
       "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
      {"get-vanilla-query-unreserved",
       "GET",
       "/",
       unreserved + "=" + unreserved,
       {},
       "",
       vanilla_sh,
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       "\xe1\x88\xb4=bar",
       {},
       "",
       vanilla_sh,
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"post-vanilla-query",
       "POST",
       "/",
       "Param1=value1",
       {},
       "",
       vanilla_sh,
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"get-unreserved",
       "GET",
       "/" + unreserved,
       "",
       {},
       "",
       vanilla_sh,
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-utf8",
       "GET",
       "/\xe1\x88\xb4",
       "",
       {},
       "",
       vanilla_sh,
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space",
       "GET",
       "/example space/",
       "",
       {},
       "",
       vanilla_sh,
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-relative",
       "GET",
       "/example/..",
       "",
       {},
       "",
       vanilla_sh,
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-slash-dot-slash",
       "GET",
       "/./",
       "",
       {},
       "",
       vanilla_sh,
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-slashes",
       "GET",
       "//example//",
       "",
       {},
       "",
       vanilla_sh,
       "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       "",
       {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
       "",
       "host;my-header1;x-amz-date",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-header-value-trim",
       "GET",
       "/",
       "",
       {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
       "",
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"post-header-key-sort",
       "POST",
       "/",
       "",
       {{"My-Header1", "value1"}},
       "",
       "host;my-header1;x-amz-date",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      {"post-header-value-case",
       "POST",
       "/",
       "",
       {{"My-Header1", "VALUE1"}},
       "",
       "host;my-header1;x-amz-date",
       "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"}},
       "Param1=value1",
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
  };
}

TEST(SigV4SuiteTest, VerifiesEveryPublishedExample) {
  SigV4Options options;
  options.service = "service";
  for (const SuiteCase& c : suiteCases()) {
    OwnedRequest r;
    r.method = c.method;
    r.path = c.path;
    r.query = c.query;
    r.body = c.body;
    r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", std::string(kSuiteDate)}};
    for (const auto& h : c.extra_headers) r.headers.push_back(h);
    r.headers.emplace_back("Authorization",
                           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                           "aws4_request, SignedHeaders=" +
                               c.signed_headers + ", Signature=" + c.signature);
    auto result = verify(r.view(), oneKey(std::string(kSuiteKeyId), std::string(kSuiteSecret)),
                         at(kSuiteDate), options);
    ASSERT_TRUE(result.ok()) << c.name << ": " << result.failure().message;
    EXPECT_EQ(result->access_key_id, kSuiteKeyId);
    EXPECT_EQ(result->region, "us-east-1");
  }
}

TEST(SigV4SuiteTest, GetVanillaIntermediateValues) {
  // The suite publishes the canonical request and string to sign of get-vanilla too.
  OwnedRequest r;
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", std::string(kSuiteDate)}};
  std::string canonical =
      canonicalRequest(r.view(), "host;x-amz-date", {"host", "x-amz-date"}, sha256Hex(""));
  EXPECT_EQ(canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string sts = stringToSign(kSuiteDate, "20150830", "us-east-1", "service", canonical);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(signature(kSuiteSecret, "20150830", "us-east-1", "service", sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(authorizationHeader(r.view(), kSuiteKeyId, kSuiteSecret, "us-east-1", "service",
                                {"host", "x-amz-date"}),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// ---------------------------------------------------------------------------------------------
// Canonical URI and query, as botocore computes them for paths that are already encoded.

TEST(SigV4CanonicalTest, UriEncodesTheAlreadyEncodedPathAgain) {
  EXPECT_EQ(canonicalUri("/2015-03-31/functions/f/invocations"),
            "/2015-03-31/functions/f/invocations");
  EXPECT_EQ(canonicalUri("/2015-03-31/functions/f%3A%24LATEST/configuration"),
            "/2015-03-31/functions/f%253A%2524LATEST/configuration");
  EXPECT_EQ(canonicalUri("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000"
                         "%3Afunction%3Af/invocations"),
            "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A000000000000"
            "%253Afunction%253Af/invocations");
  EXPECT_EQ(canonicalUri("/2015-03-31/functions/"), "/2015-03-31/functions/");
  EXPECT_EQ(canonicalUri(""), "/");
  EXPECT_EQ(canonicalUri("//"), "/");
  EXPECT_EQ(canonicalUri("/a/./b/../c//d/"), "/a/c/d/");
  EXPECT_EQ(canonicalUri("/../.."), "/");
  EXPECT_EQ(canonicalUri("/a b+c"), "/a%20b%2Bc");
}

TEST(SigV4CanonicalTest, QueryIsDecodedReencodedAndSorted) {
  EXPECT_EQ(canonicalQuery(""), "");
  EXPECT_EQ(canonicalQuery("Qualifier=%24LATEST"), "Qualifier=%24LATEST");
  EXPECT_EQ(canonicalQuery("Qualifier=$LATEST"), "Qualifier=%24LATEST");
  EXPECT_EQ(canonicalQuery("MaxItems=5&Marker=a%2fb"), "Marker=a%2Fb&MaxItems=5");
  EXPECT_EQ(canonicalQuery("b&a=&c=1"), "a=&b=&c=1");
  EXPECT_EQ(canonicalQuery("a=1&&b=2&"), "a=1&b=2");
  EXPECT_EQ(canonicalQuery("x=%zz%4"), "x=%25zz%254");
  EXPECT_EQ(canonicalQuery("s=a+b%20c"), "s=a%2Bb%20c");
}

// ---------------------------------------------------------------------------------------------
// Requests captured on the wire from real clients (docs: the design notes' "Requests captured
// from real clients"), signed with AWS's documented example key.

constexpr std::string_view kDocKeyId = "AKIAIOSFODNN7EXAMPLE";
constexpr std::string_view kDocSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

struct Captured {
  std::string name;
  OwnedRequest request;
};

std::vector<Captured> capturedRequests() {
  std::vector<Captured> out;
  {
    OwnedRequest r;
    r.method = "POST";
    r.path = "/2015-03-31/functions/f/invocations";
    r.headers = {{"Host", "127.0.0.1:9001"},
                 {"Accept-Encoding", "identity"},
                 {"User-Agent",
                  "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v782 source/x86_64.debian.12 "
                  "prompt/off command/lambda.invoke"},
                 {"X-Amz-Date", "20261123T205350Z"},
                 {"Authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/lambda/"
                  "aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=40179e6ab9bead1947b47b4054134b67342d955ce83287eb2320c77957695389"},
                 {"Content-Length", "9"}};
    r.body = R"({"k":"v"})";
    out.push_back({"aws-cli 2.9.19 invoke", r});
  }
  {
    OwnedRequest r;
    r.method = "POST";
    r.path = "/2015-03-31/functions/f/invocations";
    r.headers = {{"Accept-Encoding", "identity"},
                 {"User-Agent",
                  "Boto3/1.26.27 Python/3.11.2 Linux/6.18.44-fc-v782 awscrt/1.0.0.dev0 "
                  "Botocore/1.29.27"},
                 {"host", "127.0.0.1:9001"},
                 {"X-Amz-Date", "20261123T205413Z"},
                 {"Authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/lambda/"
                  "aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=042b95471ac13873b5898293084763d674726fc27e9366d65624a1b838270373"},
                 {"amz-sdk-invocation-id", "ddf4ac67-e05c-492d-8a0c-6537e679ba1d"},
                 {"amz-sdk-request", "attempt=1"},
                 {"Content-Length", "10"}};
    r.body = R"({"k": "v"})";
    out.push_back({"boto3 1.26.27 invoke", r});
  }
  const std::string js_ua =
      "aws-sdk-js/3.1163.0 ua/2.1 os/linux#6.18.44-fc-v782 lang/js md/nodejs#20.20.2 "
      "api/lambda#3.1163.0 m/N,E,g";
  const std::string js_signed =
      "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;"
      "x-amz-content-sha256;x-amz-date;x-amz-user-agent";
  {
    OwnedRequest r;
    r.method = "POST";
    r.path = "/2015-03-31/functions/f/invocations";
    r.headers = {
        {"content-type", "application/octet-stream"},
        {"content-length", "9"},
        {"x-amz-user-agent", "aws-sdk-js/3.1163.0"},
        {"user-agent", js_ua},
        {"host", "127.0.0.1:9001"},
        {"amz-sdk-invocation-id", "65fffebf-780b-4677-a2a2-64c1c47d1666"},
        {"amz-sdk-request", "attempt=1; max=3"},
        {"x-amz-date", "20261123T205421Z"},
        {"x-amz-content-sha256",
         "666c1aa02e8068c6d5cc1d3295009432c16790bec28ec8ce119d0d1a18d61319"},
        {"authorization",
         "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/lambda/"
         "aws4_request, SignedHeaders=" +
             js_signed +
             ", Signature=d3dcec63807013134ac757855e95d74e1431accc09ef54620446ce48aa1ecf7b"},
        {"Connection", "keep-alive"}};
    r.body = R"({"k":"v"})";
    out.push_back({"@aws-sdk/client-lambda 3.1164.0 invoke", r});
  }
  {
    OwnedRequest r;
    r.method = "POST";
    r.path = "/2015-03-31/functions";
    r.headers = {
        {"content-type", "application/json"},
        {"content-length", "401"},
        {"x-amz-user-agent", "aws-sdk-js/3.1163.0"},
        {"user-agent", js_ua},
        {"host", "127.0.0.1:9001"},
        {"amz-sdk-invocation-id", "5ac81952-a373-469d-8229-36fc8b846fea"},
        {"amz-sdk-request", "attempt=1; max=3"},
        {"x-amz-date", "20261123T205421Z"},
        {"x-amz-content-sha256",
         "9628600c3051d6ae31514cca967c5a315693a57afa067747a6354e5139788b7f"},
        {"authorization",
         "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/lambda/"
         "aws4_request, SignedHeaders=" +
             js_signed +
             ", Signature=22466a8a299b9eab447b528976f02176545630558d3e4f5d115e2e284501a7ba"},
        {"Connection", "keep-alive"}};
    r.body =
        R"({"FunctionName":"f","Role":"arn:aws:iam::000000000000:role/lambda-role","Code":{"ZipFile":"UEsDBBQAAAAAALWmd12+6dj9SgAAAEoAAAAKAAAAaGFuZGxlci5weWRlZiBoYW5kbGVyKGV2ZW50LCBjb250ZXh0KToKICAgIHJldHVybiB7J3N0YXR1c0NvZGUnOiAyMDAsICdib2R5JzogJ2hpJ30KUEsBAhQDFAAAAAAAtaZ3Xb7p2P1KAAAASgAAAAoAAAAAAAAAAAAAAKSBAAAAAGhhbmRsZXIucHlQSwUGAAAAAAEAAQA4AAAAcgAAAAAA"},"Runtime":"python3.11","Handler":"handler.handler"})";
    out.push_back({"@aws-sdk/client-lambda 3.1164.0 create-function", r});
  }
  return out;
}

// Runs the checks every real-client request must pass: it verifies as sent and with header
// names in other cases, and flipping one byte of the body, path, a signed header or the
// signature makes it fail.
void expectVerifiesAndResistsTampering(const std::string& name, const OwnedRequest& request,
                                       std::string_view key_id, std::string_view secret) {
  SCOPED_TRACE(name);
  auto lookup = oneKey(std::string(key_id), std::string(secret));
  std::string amz_date = *OwnedRequest(request).header("x-amz-date");
  auto now = at(amz_date);

  auto ok = verify(request.view(), lookup, now);
  ASSERT_TRUE(ok.ok()) << ok.failure().error_type << ": " << ok.failure().message;
  EXPECT_EQ(ok->access_key_id, key_id);
  EXPECT_EQ(ok->region, "us-east-1");

  for (bool upper : {false, true}) {
    OwnedRequest recased = request;
    for (auto& [n, v] : recased.headers)
      for (char& c : n)
        c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                    : std::tolower(static_cast<unsigned char>(c)));
    auto r = verify(recased.view(), lookup, now);
    EXPECT_TRUE(r.ok()) << "header names " << (upper ? "upper" : "lower")
                        << "-cased: " << r.failure().message;
  }

  auto expect_mismatch = [&](const OwnedRequest& tampered, std::string_view what) {
    auto r = verify(tampered.view(), lookup, now);
    ASSERT_FALSE(r.ok()) << what << " was changed but the request still verified";
    EXPECT_EQ(r.failure().status, 403) << what;
    EXPECT_EQ(r.failure().error_type, "InvalidSignatureException") << what;
  };
  if (!request.body.empty()) {
    OwnedRequest t = request;
    t.body[t.body.size() / 2] ^= 0x01;
    expect_mismatch(t, "one byte of the body");
    t = request;
    t.body.push_back(' ');
    expect_mismatch(t, "the body's length");
  }
  {
    OwnedRequest t = request;
    t.path[t.path.size() - 1] ^= 0x01;
    expect_mismatch(t, "one byte of the path");
  }
  if (!request.query.empty()) {
    OwnedRequest t = request;
    t.query[t.query.size() - 1] ^= 0x01;
    expect_mismatch(t, "one byte of the query");
  }
  {
    OwnedRequest t = request;
    t.method = request.method == "GET" ? "PUT" : "GET";
    expect_mismatch(t, "the method");
  }
  {
    OwnedRequest t = request;
    std::string* host = t.header("host");
    ASSERT_NE(host, nullptr);
    host->back() ^= 0x01;
    expect_mismatch(t, "one byte of the Host header");
  }
  {
    OwnedRequest t = request;
    std::string* auth = t.header("authorization");
    ASSERT_NE(auth, nullptr);
    char& last = auth->back();
    last = last == '0' ? '1' : '0';
    expect_mismatch(t, "one byte of the signature");
  }
}

TEST(SigV4ClientsTest, RequestsCapturedFromRealClientsVerify) {
  for (const Captured& c : capturedRequests())
    expectVerifiesAndResistsTampering(c.name, c.request, kDocKeyId, kDocSecret);
}

// Runs tests/auth/sign_requests.py with `source` and returns its requests.
std::vector<std::pair<Captured, std::string>> signedBy(const std::string& source) {
  std::string command =
      "/usr/bin/python3 " GUST_SOURCE_DIR "/tests/auth/sign_requests.py " + source + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe == nullptr) return {};
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << command << " failed (botocore, boto3 and the AWS CLI come from the Debian packages "
      << "python3-boto3 and awscli: run tools/install-deps.sh):\n"
      << output;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};

  std::vector<std::pair<Captured, std::string>> out;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    boost::json::object o = boost::json::parse(line).as_object();
    Captured c;
    c.name = std::string(o.at("name").as_string());
    c.request.method = std::string(o.at("method").as_string());
    c.request.path = std::string(o.at("path").as_string());
    c.request.query = std::string(o.at("query").as_string());
    for (const auto& h : o.at("headers").as_array()) {
      const auto& pair = h.as_array();
      c.request.headers.emplace_back(std::string(pair.at(0).as_string()),
                                     std::string(pair.at(1).as_string()));
    }
    EXPECT_TRUE(base64Decode(std::string(o.at("body_base64").as_string()), c.request.body));
    EXPECT_EQ(o.at("access_key_id").as_string(), "GKIAIOSFODNN7EXAMPLE");
    out.emplace_back(std::move(c), std::string(o.at("secret").as_string()));
  }
  return out;
}

TEST(SigV4ClientsTest, BotocoreSignedRequestsVerify) {
  auto requests = signedBy("botocore");
  std::vector<std::string> names;
  for (const auto& [c, secret] : requests) {
    names.push_back(c.name);
    expectVerifiesAndResistsTampering(c.name, c.request, "GKIAIOSFODNN7EXAMPLE", secret);
  }
  // Every case the helper promises ran.
  for (const char* want : {"invoke-payload", "create-function", "list-trailing-slash",
                           "latest-qualifier", "invoke-arn", "list-marker"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
}

TEST(SigV4ClientsTest, Boto3ClientRequestsVerify) {
  auto requests = signedBy("boto3");
  EXPECT_GE(requests.size(), 6u);
  for (const auto& [c, secret] : requests)
    expectVerifiesAndResistsTampering(c.name, c.request, "GKIAIOSFODNN7EXAMPLE", secret);
}

TEST(SigV4ClientsTest, AwsCliRequestsVerify) {
  auto requests = signedBy("aws-cli");
  EXPECT_GE(requests.size(), 4u);
  for (const auto& [c, secret] : requests)
    expectVerifiesAndResistsTampering(c.name, c.request, "GKIAIOSFODNN7EXAMPLE", secret);
}

// ---------------------------------------------------------------------------------------------
// Failures, as Lambda words them.

constexpr std::string_view kKeyId = "GKIATESTTESTTESTTEST";
constexpr std::string_view kSecret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
constexpr std::string_view kNow = "20261124T120000Z";

// A request signed the way botocore signs, at `when`.
OwnedRequest signedRequest(std::string_view when = kNow) {
  OwnedRequest r;
  r.method = "POST";
  r.path = "/2015-03-31/functions/f/invocations";
  r.body = R"({"k":"v"})";
  r.headers = {{"Host", "127.0.0.1:9001"}, {"X-Amz-Date", std::string(when)}};
  r.headers.emplace_back("Authorization",
                         authorizationHeader(r.view(), kKeyId, kSecret, "eu-west-1", "lambda",
                                             {"host", "x-amz-date"}));
  return r;
}

AuthFailure failureOf(const OwnedRequest& r, std::string_view now = kNow) {
  auto result = verify(r.view(), oneKey(std::string(kKeyId), std::string(kSecret)), at(now));
  EXPECT_FALSE(result.ok());
  return result.ok() ? AuthFailure{} : result.failure();
}

void setAuthorization(OwnedRequest& r, std::string value) { *r.header("authorization") = value; }

TEST(SigV4FailureTest, SignedRequestVerifiesAndRecordsTheRegion) {
  auto result =
      verify(signedRequest().view(), oneKey(std::string(kKeyId), std::string(kSecret)), at(kNow));
  ASSERT_TRUE(result.ok()) << result.failure().message;
  EXPECT_EQ(result->access_key_id, kKeyId);
  EXPECT_EQ(result->region, "eu-west-1");
}

TEST(SigV4FailureTest, MissingAuthorization) {
  OwnedRequest r = signedRequest();
  std::erase_if(r.headers, [](const auto& h) { return h.first == "Authorization"; });
  AuthFailure f = failureOf(r);
  EXPECT_EQ(f.status, 403);
  EXPECT_EQ(f.error_type, "MissingAuthenticationTokenException");
  EXPECT_EQ(f.message, "Missing Authentication Token");
  EXPECT_EQ(f.body(), R"({"message":"Missing Authentication Token"})");
}

TEST(SigV4FailureTest, UnknownKey) {
  OwnedRequest r = signedRequest();
  auto result = verify(r.view(), oneKey("GKIAOTHEROTHEROTHER2", std::string(kSecret)), at(kNow));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().status, 403);
  EXPECT_EQ(result.failure().error_type, "UnrecognizedClientException");
  EXPECT_EQ(result.failure().message, "The security token included in the request is invalid.");
}

TEST(SigV4FailureTest, LookupErrorIsAServiceError) {
  auto failing = [](std::string_view) -> Result<std::string> {
    return Error::unavailable("database is locked");
  };
  auto result = verify(signedRequest().view(), failing, at(kNow));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().status, 500);
  EXPECT_EQ(result.failure().error_type, "ServiceException");
  EXPECT_NE(result.failure().message.find("database is locked"), std::string::npos);
}

TEST(SigV4FailureTest, WrongSecret) {
  auto result =
      verify(signedRequest().view(), oneKey(std::string(kKeyId), "not-the-secret"), at(kNow));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().status, 403);
  EXPECT_EQ(result.failure().error_type, "InvalidSignatureException");
  EXPECT_EQ(result.failure().message,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.");
}

TEST(SigV4FailureTest, ClockSkewBeyondFifteenMinutes) {
  // 15 minutes either way is fine; one second more is not.
  for (std::string_view now : {"20261124T121500Z", "20261124T114500Z"}) {
    auto result =
        verify(signedRequest().view(), oneKey(std::string(kKeyId), std::string(kSecret)), at(now));
    EXPECT_TRUE(result.ok()) << now;
  }
  AuthFailure expired = failureOf(signedRequest(), "20261124T121501Z");
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(expired.error_type, "InvalidSignatureException");
  EXPECT_EQ(expired.message,
            "Signature expired: 20261124T120000Z is now earlier than 20261124T120001Z "
            "(20261124T121501Z - 15 min.)");
  AuthFailure early = failureOf(signedRequest(), "20261124T114459Z");
  EXPECT_EQ(early.error_type, "InvalidSignatureException");
  EXPECT_EQ(early.message,
            "Signature not yet current: 20261124T120000Z is still later than 20261124T115959Z "
            "(20261124T114459Z + 15 min.)");
}

TEST(SigV4FailureTest, CredentialScopeMustMatch) {
  OwnedRequest r = signedRequest();
  std::string good = *r.header("authorization");
  auto with = [&](std::string_view from, std::string_view to) {
    std::string v = good;
    v.replace(v.find(from), from.size(), to);
    OwnedRequest t = r;
    setAuthorization(t, v);
    return failureOf(t);
  };
  AuthFailure service = with("/lambda/", "/s3/");
  EXPECT_EQ(service.error_type, "InvalidSignatureException");
  EXPECT_EQ(service.message, "Credential should be scoped to correct service: 'lambda'. ");
  AuthFailure date = with("/20261124/", "/20261123/");
  EXPECT_EQ(date.error_type, "InvalidSignatureException");
  EXPECT_EQ(date.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '20261123' != '20261124', from '20261124T120000Z'.");
  AuthFailure terminator = with("/aws4_request", "/aws5_request");
  EXPECT_EQ(terminator.error_type, "InvalidSignatureException");
  EXPECT_NE(terminator.message.find("'aws4_request', not 'aws5_request'"), std::string::npos);
  AuthFailure region = with("/eu-west-1/", "//");
  EXPECT_EQ(region.error_type, "InvalidSignatureException");
}

TEST(SigV4FailureTest, MalformedAuthorizationIsIncompleteSignature) {
  struct Case {
    std::string value;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {"Bearer abcdef", "not AWS Signature Version 4"},
      {"AWS4-HMAC-SHA256", "requires 'Credential' parameter"},
      {"AWS4-HMAC-SHA256Credential=x", "not AWS Signature Version 4"},
      {"AWS4-HMAC-SHA256 Credential=GKIA/20261124/eu-west-1/lambda/aws4_request",
       "Authorization header requires 'Signature' parameter. Authorization header requires "
       "'SignedHeaders' parameter."},
      {"AWS4-HMAC-SHA256 Credential=GKIA /20261124/eu-west-1/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature=00",
       "not a valid key=value pair (missing equal-sign)"},
      {"AWS4-HMAC-SHA256 Credential=GKIA/20261124/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature=00",
       "Credential 'GKIA/20261124/lambda/aws4_request' is malformed"},
      {"AWS4-HMAC-SHA256 Credential=GKIA/20261124/eu-west-1/lambda/aws4_request, "
       "SignedHeaders=host;;x-amz-date, Signature=00",
       "SignedHeaders 'host;;x-amz-date' is malformed"},
      {"AWS4-HMAC-SHA256 Credential=GKIA/20261124/eu-west-1/lambda/aws4_request, "
       "SignedHeaders=x-amz-date, Signature=00",
       "'Host' must be a 'SignedHeader'"},
      {"AWS4-HMAC-SHA256 Credential=a/20261124/eu-west-1/lambda/aws4_request, "
       "Credential=b/20261124/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=00",
       "more than one 'Credential'"},
  };
  for (const Case& c : cases) {
    OwnedRequest r = signedRequest();
    setAuthorization(r, c.value);
    AuthFailure f = failureOf(r);
    EXPECT_EQ(f.status, 403) << c.value;
    EXPECT_EQ(f.error_type, "IncompleteSignatureException") << c.value;
    EXPECT_NE(f.message.find(c.message_part), std::string::npos) << c.value << " → " << f.message;
  }
}

TEST(SigV4FailureTest, BadOrMissingDateIsIncompleteSignature) {
  for (std::string_view bad : {"", "2026-11-24T12:00:00Z", "20261124T120000", "20260231T120000Z",
                               "20261124T250000Z", "Mon, 24 Nov 2026 12:00:00 GMT"}) {
    OwnedRequest r = signedRequest();
    *r.header("x-amz-date") = std::string(bad);
    AuthFailure f = failureOf(r);
    EXPECT_EQ(f.error_type, "IncompleteSignatureException") << bad;
    EXPECT_NE(f.message.find("X-Amz-Date"), std::string::npos) << f.message;
  }
  OwnedRequest r = signedRequest();
  std::erase_if(r.headers, [](const auto& h) { return h.first == "X-Amz-Date"; });
  r.headers.emplace_back("Date", "Tue, 24 Nov 2026 12:00:00 GMT");
  AuthFailure f = failureOf(r);
  EXPECT_EQ(f.error_type, "IncompleteSignatureException");
  EXPECT_EQ(f.message, "Authorization header requires existence of a 'X-Amz-Date' header.");
}

TEST(SigV4FailureTest, RepeatedAuthorizationOrDateIsRefused) {
  OwnedRequest r = signedRequest();
  r.headers.emplace_back("authorization", *r.header("authorization"));
  EXPECT_EQ(failureOf(r).error_type, "IncompleteSignatureException");
  r = signedRequest();
  r.headers.emplace_back("x-amz-date", std::string(kNow));
  EXPECT_EQ(failureOf(r).error_type, "IncompleteSignatureException");
}

TEST(SigV4FailureTest, SessionTokensAreNotGusts) {
  OwnedRequest r;
  r.method = "GET";
  r.path = "/2015-03-31/functions/";
  r.headers = {{"Host", "h"}, {"X-Amz-Date", std::string(kNow)}, {"X-Amz-Security-Token", "t"}};
  r.headers.emplace_back("Authorization",
                         authorizationHeader(r.view(), kKeyId, kSecret, "us-east-1", "lambda",
                                             {"host", "x-amz-date", "x-amz-security-token"}));
  AuthFailure f = failureOf(r);
  EXPECT_EQ(f.error_type, "UnrecognizedClientException");
}

TEST(SigV4FailureTest, ContentSha256MustBeTheBodys) {
  // Signed the way the JS SDK signs: the hash header is signed and the body is not re-read.
  auto make = [](std::string body, std::string sent_hash) {
    OwnedRequest r;
    r.method = "POST";
    r.path = "/2015-03-31/functions/f/invocations";
    r.body = std::move(body);
    r.headers = {{"host", "127.0.0.1:9001"},
                 {"x-amz-date", std::string(kNow)},
                 {"x-amz-content-sha256", std::move(sent_hash)}};
    r.headers.emplace_back("authorization",
                           authorizationHeader(r.view(), kKeyId, kSecret, "us-east-1", "lambda",
                                               {"host", "x-amz-content-sha256", "x-amz-date"}));
    return r;
  };
  OwnedRequest good = make("{}", sha256Hex("{}"));
  EXPECT_TRUE(
      verify(good.view(), oneKey(std::string(kKeyId), std::string(kSecret)), at(kNow)).ok());

  OwnedRequest swapped = good;
  swapped.body = "[]";  // the signature still matches the header; the body does not
  AuthFailure f = failureOf(swapped);
  EXPECT_EQ(f.error_type, "InvalidSignatureException");
  EXPECT_EQ(f.message,
            "The provided 'x-amz-content-sha256' header does not match what was computed.");

  AuthFailure unsigned_payload = failureOf(make("{}", "UNSIGNED-PAYLOAD"));
  EXPECT_EQ(unsigned_payload.error_type, "InvalidSignatureException");
  EXPECT_NE(unsigned_payload.message.find("UNSIGNED-PAYLOAD"), std::string::npos);
}

TEST(SigV4FailureTest, UnsignedHeadersMayChange) {
  // Only the signed headers are covered: an unsigned one (User-Agent here) may be anything.
  OwnedRequest r = signedRequest();
  r.headers.emplace_back("User-Agent", "changed in transit");
  EXPECT_TRUE(verify(r.view(), oneKey(std::string(kKeyId), std::string(kSecret)), at(kNow)).ok());
}

TEST(SigV4FailureTest, ErrorBodyIsEscapedJson) {
  AuthFailure f{403, "InvalidSignatureException", "quote \" and \\ and \n"};
  EXPECT_EQ(f.body(), R"({"message":"quote \" and \\ and \n"})");
}

TEST(SigV4DateTest, FormatsAndParses) {
  auto t = at("20150830T123600Z");
  EXPECT_EQ(amzDate(t), "20150830T123600Z");
  EXPECT_EQ(amzDate(t + 15min), "20150830T125100Z");
  std::chrono::system_clock::time_point out;
  EXPECT_TRUE(parseAmzDate("20240229T235959Z", out));
  EXPECT_FALSE(parseAmzDate("20230229T000000Z", out));
  EXPECT_FALSE(parseAmzDate("20150830T123660Z", out));
  EXPECT_FALSE(parseAmzDate("2015083OT123600Z", out));
}

}  // namespace
}  // namespace gust::auth
