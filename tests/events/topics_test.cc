#include "events/topics.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <boost/json.hpp>

#include <filesystem>
#include <system_error>

#include "store/sqlite/sqlite_store.h"

namespace gust::events {
namespace {

namespace json = boost::json;

class TopicsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "gust-topics-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::openSqliteStore(dir_ / "gust.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    for (const char* name : {"billing", "audit"}) {
      store::FunctionRecord fn;
      fn.name = name;
      fn.runtime = "python3.11";
      fn.handler = "app.handler";
      fn.code_sha256 = std::string(64, 'a');
      ASSERT_TRUE(store_->putFunction(fn).ok());
    }
    ASSERT_TRUE(store_->publishVersion("audit", "", "", "").ok());
    TopicsOptions options;
    options.now_ms = [] { return int64_t{1'795'000'000'123}; };
    options.region = "eu-west-1";
    options.account_id = "123456789012";
    topics_ = std::make_unique<Topics>(
        options, *store_,
        [this](std::vector<AsyncInvoke> events) -> Result<std::vector<std::string>> {
          ++enqueue_calls_;
          if (fail_) return Error::unavailable("queue is down");
          std::vector<std::string> ids;
          for (auto& e : events) {
            ids.push_back("id");
            enqueued_.push_back(std::move(e));
          }
          return ids;
        });
  }
  void TearDown() override {
    topics_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Topics> topics_;
  std::vector<AsyncInvoke> enqueued_;
  int enqueue_calls_ = 0;
  bool fail_ = false;
};

TEST_F(TopicsTest, PublishFansOutToEverySubscriberWithSnsEvents) {
  ASSERT_TRUE(topics_->create("orders").ok());
  auto billing = topics_->subscribe("orders", "billing", "");
  ASSERT_TRUE(billing.ok()) << billing.error().message;
  auto audit = topics_->subscribe("orders", "audit", "1");
  ASSERT_TRUE(audit.ok()) << audit.error().message;
  PublishRequest request;
  request.message = "order 42 placed";
  request.subject = "New order";
  request.attributes["kind"] = {"String", "order"};
  request.attributes["count"] = {"Number", "3"};
  auto id = topics_->publish("orders", request);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->size(), 36u);
  EXPECT_EQ(enqueue_calls_, 1);  // one durable batch for every subscriber
  ASSERT_EQ(enqueued_.size(), 2u);
  EXPECT_EQ(enqueued_[0].function, "billing");
  EXPECT_EQ(enqueued_[1].function, "audit");
  EXPECT_EQ(enqueued_[1].qualifier, "1");

  json::object event = json::parse(enqueued_[0].payload).as_object();
  const json::object& record = event.at("Records").as_array().at(0).as_object();
  EXPECT_EQ(record.at("EventSource"), "aws:sns");
  EXPECT_EQ(record.at("EventVersion"), "1.0");
  std::string sub_arn = "arn:aws:sns:eu-west-1:123456789012:orders:" + billing->id;
  EXPECT_EQ(record.at("EventSubscriptionArn"), json::value(sub_arn));
  const json::object& sns = record.at("Sns").as_object();
  EXPECT_EQ(sns.at("Type"), "Notification");
  EXPECT_EQ(sns.at("MessageId"), json::value(*id));
  EXPECT_EQ(sns.at("TopicArn"), "arn:aws:sns:eu-west-1:123456789012:orders");
  EXPECT_EQ(sns.at("Subject"), "New order");
  EXPECT_EQ(sns.at("Message"), "order 42 placed");
  EXPECT_EQ(sns.at("Timestamp"), "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(sns.at("SignatureVersion"), "1");
  EXPECT_FALSE(sns.at("Signature").as_string().empty());
  EXPECT_TRUE(sns.at("SigningCertUrl").as_string().starts_with("https://sns.eu-west-1."));
  EXPECT_NE(sns.at("UnsubscribeUrl").as_string().find("SubscriptionArn=" + sub_arn),
            std::string::npos);
  EXPECT_EQ(sns.at("MessageAttributes"),
            (json::object{{"count", json::object{{"Type", "Number"}, {"Value", "3"}}},
                          {"kind", json::object{{"Type", "String"}, {"Value", "order"}}}}));
  // Both subscribers got the same message id.
  json::value other = json::parse(enqueued_[1].payload);
  EXPECT_EQ(other.at("Records").at(0).at("Sns").at("MessageId"), json::value(*id));
}

TEST_F(TopicsTest, NoSubjectIsNullAndNoSubscribersIsFine) {
  ASSERT_TRUE(topics_->create("empty").ok());
  auto id = topics_->publish("empty", {"hello", "", {}});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(enqueue_calls_, 0);
  ASSERT_TRUE(topics_->subscribe("empty", "billing", "$LATEST").ok());
  ASSERT_TRUE(topics_->publish("empty", {"hello", "", {}}).ok());
  ASSERT_EQ(enqueued_.size(), 1u);
  EXPECT_EQ(enqueued_[0].qualifier, "");
  json::value event = json::parse(enqueued_[0].payload);
  EXPECT_TRUE(event.at("Records").at(0).at("Sns").at("Subject").is_null());
  EXPECT_EQ(event.at("Records").at(0).at("Sns").at("MessageAttributes"), json::object());
}

TEST_F(TopicsTest, AFailedEnqueueFailsThePublish) {
  ASSERT_TRUE(topics_->create("orders").ok());
  ASSERT_TRUE(topics_->subscribe("orders", "billing", "").ok());
  fail_ = true;
  auto id = topics_->publish("orders", {"hello", "", {}});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kUnavailable);
}

TEST_F(TopicsTest, RefusesBadInputWithClearErrors) {
  auto bad_name = topics_->create("bad name");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.error().message.find("e.g. order-events"), std::string::npos);
  EXPECT_FALSE(topics_->create(std::string(257, 'a')).ok());
  EXPECT_EQ(topics_->publish("missing", {"hi", "", {}}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(topics_->create("t").ok());
  EXPECT_EQ(topics_->subscribe("t", "nope", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(topics_->subscribe("t", "audit", "9").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(topics_->subscribe("missing", "audit", "").error().code, ErrorCode::kNotFound);
  auto err = [&](PublishRequest r) {
    auto id = topics_->publish("t", std::move(r));
    EXPECT_FALSE(id.ok());
    return id.ok() ? std::string() : id.error().message;
  };
  EXPECT_NE(err({"", "", {}}).find("message: is empty"), std::string::npos);
  EXPECT_NE(err({std::string(256 * 1024 + 1, 'x'), "", {}}).find("256 KB"), std::string::npos);
  EXPECT_NE(err({"m", std::string(101, 's'), {}}).find("at most 100"), std::string::npos);
  EXPECT_NE(err({"m", "two\nlines", {}}).find("one line"), std::string::npos);
  EXPECT_NE(err({"m", "", {{"AWS.x", {"String", "v"}}}}).find("not allowed"), std::string::npos);
  EXPECT_NE(err({"m", "", {{"n", {"Text", "v"}}}}).find("not one of"), std::string::npos);
  EXPECT_NE(err({"m", "", {{"n", {"Number", "three"}}}}).find("not a number"), std::string::npos);
  EXPECT_NE(err({"m", "", {{"n", {"Binary", "%%%"}}}}).find("base64"), std::string::npos);
  EXPECT_NE(err({"m", "", {{"n", {"String.Array", "x"}}}}).find("JSON array"), std::string::npos);
  std::map<std::string, MessageAttribute> many;
  for (int i = 0; i < 11; ++i) many["a" + std::to_string(i)] = {"String", "v"};
  EXPECT_NE(err({"m", "", many}).find("at most 10"), std::string::npos);
}

TEST_F(TopicsTest, PublishToArnServesDestinations) {
  ASSERT_TRUE(topics_->create("failures").ok());
  ASSERT_TRUE(topics_->subscribe("failures", "audit", "").ok());
  ASSERT_TRUE(
      topics_->publishToArn("arn:aws:sns:us-east-1:000000000000:failures", R"({"k":1})").ok());
  ASSERT_EQ(enqueued_.size(), 1u);
  EXPECT_EQ(json::parse(enqueued_[0].payload).at("Records").at(0).at("Sns").at("Message"),
            R"({"k":1})");
  EXPECT_EQ(topics_->publishToArn("arn:aws:sqs:x", "m").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(topics_->publishToArn("arn:aws:sns:us-east-1:000000000000:gone", "m").error().code,
            ErrorCode::kNotFound);
}

TEST(PublishJsonTest, ParsesTheApiBody) {
  auto r = publishRequestFromJson(
      R"j({"message":"m","subject":"s","message_attributes":{"k":{"type":"String","value":"v"}}})j");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->message, "m");
  EXPECT_EQ(r->subject, "s");
  EXPECT_EQ(r->attributes.at("k"), (MessageAttribute{"String", "v"}));
  EXPECT_NE(publishRequestFromJson(R"j({"subject":"s"})j")
                .error()
                .message.find("message: is "
                              "missing"),
            std::string::npos);
  EXPECT_NE(
      publishRequestFromJson(R"j({"message":"m","x":1})j").error().message.find("unknown key"),
      std::string::npos);
  EXPECT_FALSE(publishRequestFromJson(R"j({"message":"m","message_attributes":{"k":"v"}})j").ok());
  EXPECT_FALSE(publishRequestFromJson("nope").ok());
}

}  // namespace
}  // namespace gust::events
