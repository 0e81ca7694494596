#include "cli/client.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace gust::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("GUST_TOKEN");
    ::unsetenv("GUST_ENDPOINT");
    dir_ = fs::path(::testing::TempDir()) / ("cli_client_test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    ::unsetenv("GUST_TOKEN");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(ClientTest, ReadsTheTokenFromTheDataDirAndSendsIt) {
  std::ofstream(dir_ / "token") << "file-token\n";
  std::string seen;
  auto server = http::Server::start({}, [&seen](http::Request&& req, http::Responder r) {
    seen = std::string(req.header("authorization").value_or(""));
    r(http::Response::json(200, "{}"));
  });
  ASSERT_TRUE(server.ok());
  ClientOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string((*server)->port());
  options.data_dir = dir_.string();
  auto client = Client::connect(options);
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto res = client->call("GET", "/x", "", 5s);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(seen, "Bearer file-token");

  ::setenv("GUST_TOKEN", "env-token", 1);  // the environment wins over the file
  client = Client::connect(options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->call("GET", "/x", "", 5s).ok());
  EXPECT_EQ(seen, "Bearer env-token");
}

TEST_F(ClientTest, MissingTokenSaysWhatToDo) {
  ClientOptions options;
  options.data_dir = (dir_ / "absent").string();
  auto client = Client::connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(client.error().message.find("GUST_TOKEN"), std::string::npos);
}

TEST_F(ClientTest, ServerErrorsBecomeErrorsWithTheServersMessage) {
  ::setenv("GUST_TOKEN", "t", 1);
  auto server = http::Server::start({}, [](http::Request&&, http::Responder r) {
    r(http::Response::json(404, R"({"code":"NotFound","message":"function 'x' not found"})"));
  });
  ASSERT_TRUE(server.ok());
  ClientOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string((*server)->port());
  auto res = Client::connect(options)->call("GET", "/x", "", 5s);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(res.error().message, "function 'x' not found");
}

TEST_F(ClientTest, UnreachableServerSuggestsStartingIt) {
  ::setenv("GUST_TOKEN", "t", 1);
  ClientOptions options;
  options.endpoint = "http://127.0.0.1:1";
  auto res = Client::connect(options)->call("GET", "/x", "", 5s);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message.find("gust serve"), std::string::npos) << res.error().message;
  options.endpoint = "localhost:8080";
  EXPECT_FALSE(Client::connect(options).ok());
}

http::Response lambdaAnswer(int status, std::string type, std::string body) {
  http::Response res = http::Response::json(status, std::move(body));
  res.headers.push_back({"x-amzn-errortype", std::move(type)});
  return res;
}

TEST(ErrorFromResponseTest, LambdaErrorsNameTheirTypeAndSayWhatToDo) {
  auto e = errorFromResponse(
      lambdaAnswer(
          404, "ResourceNotFoundException",
          R"({"Type":"User","message":"Function not found: arn:aws:lambda:x:function:f"})"),
      "./.gust/token");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_TRUE(e.message.starts_with(
      "ResourceNotFoundException: Function not found: arn:aws:lambda:x:function:f; "))
      << e.message;
  EXPECT_NE(e.message.find("gust ls"), std::string::npos);

  e = errorFromResponse(lambdaAnswer(429, "TooManyRequestsException",
                                     R"({"Type":"User","message":"Rate Exceeded.",
                                         "Reason":"ReservedFunctionConcurrentInvocationLimitExceeded",
                                         "detail":"f has reserved concurrency 0"})"),
                        "x");
  EXPECT_EQ(e.code, ErrorCode::kResourceExhausted);
  EXPECT_NE(e.message.find("Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded): "
                           "f has reserved concurrency 0"),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("gust concurrency reserved"), std::string::npos);

  e = errorFromResponse(lambdaAnswer(409, "ResourceConflictException:http://internal",
                                     R"({"Type":"User","message":"Alias already exists: live"})"),
                        "x");
  EXPECT_EQ(e.code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(e.message, "ResourceConflictException: Alias already exists: live");

  // Gust's own code, when the body has one, is more precise than the status.
  e = errorFromResponse(lambdaAnswer(400, "InvalidParameterValueException",
                                     R"({"Type":"User","message":"m","code":"TooLarge"})"),
                        "x");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
}

TEST(ErrorFromResponseTest, ARejectedTokenSaysWhereItCameFromAndWhatToUse) {
  auto e = errorFromResponse(
      lambdaAnswer(
          403, "UnrecognizedClientException",
          R"({"Type":"User","message":"The security token included in the request is invalid."})"),
      "$GUST_TOKEN");
  EXPECT_EQ(e.code, ErrorCode::kUnauthenticated);
  EXPECT_NE(e.message.find("rejected the API token from $GUST_TOKEN"), std::string::npos);
  EXPECT_NE(e.message.find("--data-dir"), std::string::npos);

  e = errorFromResponse(
      http::Response::json(401, R"({"code":"Unauthenticated","message":"invalid bearer token"})"),
      "/srv/gust/token");
  EXPECT_EQ(e.code, ErrorCode::kUnauthenticated);
  EXPECT_NE(e.message.find("from /srv/gust/token"), std::string::npos);
}

TEST(ErrorFromResponseTest, AnUnknownRouteSuggestsAnOlderServerAndOtherBodiesAreQuoted) {
  auto e = errorFromResponse(
      http::Response::json(404, R"({"code":"NotFound","message":"no route for GET /api/v1/x"})"),
      "t");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("older than this gust CLI"), std::string::npos);

  http::Response html;
  html.status = 502;
  html.body = "<html>bad gateway</html>";
  e = errorFromResponse(html, "t");
  EXPECT_EQ(e.message, "the server answered HTTP 502: <html>bad gateway</html>");
}

}  // namespace
}  // namespace gust::cli
