#include "control/usage_plans.h"

#include <gtest/gtest.h>

#include <regex>

#include <fmt/format.h>

#include "common/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "test_util.h"

namespace gust::control {
namespace {

constexpr int64_t kSecond = apigw::kNanosPerSecond;
constexpr int64_t kDay = apigw::kSecondsPerDay * kSecond;

class UsagePlansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::openSqliteStore(dir_ / "gust.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    restart();
  }

  // A new service on the same store, as after a server restart.
  void restart() {
    service_.reset();
    UsagePlanServiceOptions options;
    options.flush_interval = std::chrono::milliseconds(0);  // the tests flush
    options.now_ns = [this] { return now_; };
    service_ = std::make_unique<UsagePlanService>(*store_, options);
    auto st = service_->start();
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  CreatedApiKey key(std::string name) {
    auto k = service_->createApiKey({std::move(name), "", true, std::nullopt});
    EXPECT_TRUE(k.ok()) << k.error().message;
    return k.ok() ? *k : CreatedApiKey{};
  }

  store::UsagePlanRecord plan(std::string_view json) {
    auto parsed = parseUsagePlanRequest(json);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    auto created = service_->createUsagePlan(*parsed);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? *created : store::UsagePlanRecord{};
  }

  KeyVerdict admit(const std::string& value, std::string_view stage = "prod") {
    return service_->admit(value, "api1", stage).verdict;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<UsagePlanService> service_;
  int64_t now_ = *apigw::parseDate("2026-11-25") * kDay + 3600 * kSecond;
};

TEST_F(UsagePlansTest, GeneratedKeysAreLongRandomAndStoredOnlyAsAHash) {
  auto a = key("alice");
  auto b = key("bob");
  EXPECT_TRUE(std::regex_match(a.value, std::regex("[A-Za-z0-9]{40}")));
  EXPECT_NE(a.value, b.value);
  EXPECT_TRUE(std::regex_match(a.record.id, std::regex("[a-z0-9]{10}")));
  EXPECT_EQ(a.record.value_sha256, sha256Hex(a.value));
  auto stored = service_->getApiKey("alice");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->id, a.record.id);
  EXPECT_EQ(apiKeyToJson(*stored).find(a.value), std::string::npos);
}

TEST_F(UsagePlansTest, KeyInputIsValidated) {
  EXPECT_EQ(service_->createApiKey({"", "", true, std::nullopt}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->createApiKey({"has space", "", true, std::nullopt}).error().code,
            ErrorCode::kInvalidArgument);
  auto short_value = service_->createApiKey({"k", "", true, std::string(19, 'x')});
  ASSERT_FALSE(short_value.ok());
  EXPECT_NE(short_value.error().message.find("20 to 128"), std::string::npos);
  EXPECT_FALSE(service_->createApiKey({"k", "", true, "with a space in it, long enough"}).ok());
  auto given = service_->createApiKey({"k", "", true, std::string(20, 'x')});
  ASSERT_TRUE(given.ok()) << given.error().message;
  EXPECT_EQ(given->value, std::string(20, 'x'));
  EXPECT_EQ(service_->createApiKey({"k", "", true, std::nullopt}).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(service_->createApiKey({"k2", "", true, std::string(20, 'x')}).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_FALSE(parseApiKeyRequest(R"({"name":"a","colour":"red"})").ok());
  EXPECT_FALSE(parseApiKeyRequest(R"({"name":"a","enabled":"yes"})").ok());
  EXPECT_FALSE(parseApiKeyRequest("[]").ok());
}

TEST_F(UsagePlansTest, PlanInputIsValidated) {
  for (std::string_view bad : {
           R"({"name":"p","throttle":{"rate_limit":5}})",
           R"({"name":"p","throttle":{"rate_limit":-1,"burst_limit":5}})",
           R"({"name":"p","throttle":{"rate_limit":0.0001,"burst_limit":5}})",
           R"({"name":"p","throttle":{"rate_limit":1,"burst_limit":2000000}})",
           R"({"name":"p","quota":{"limit":10,"period":"YEAR"}})",
           R"({"name":"p","quota":{"limit":0,"period":"DAY"}})",
           R"({"name":"p","quota":{"limit":10,"period":"DAY","offset":10}})",
           R"({"name":"p","quota":{"period":"DAY"}})",
           R"({"name":"p","api_stages":[{"api_id":"a","stage":"s"},{"api_id":"a","stage":"s"}]})",
           R"({"name":"p","api_stages":[{"api_id":"a"}]})",
           R"({"name":"p p"})",
       }) {
    auto parsed = parseUsagePlanRequest(bad);
    if (!parsed.ok()) continue;  // refused by the parser already
    EXPECT_EQ(service_->createUsagePlan(*parsed).error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(parseUsagePlanRequest(R"({"name":"p","quota":{"limit":1.5,"period":"DAY"}})").ok());
  EXPECT_FALSE(parseUsagePlanRequest(R"({"name":"p","throttles":{}})").ok());
  auto p = plan(
      R"({"name":"gold","throttle":{"rate_limit":2.5,"burst_limit":4},)"
      R"("quota":{"limit":100,"period":"WEEK","offset":3},"api_stages":[{"api_id":"api1","stage":"prod"}]})");
  EXPECT_EQ(p.throttle_rate, 2.5);
  EXPECT_EQ(p.quota_period, "WEEK");
  EXPECT_EQ(*service_->getUsagePlan("gold"), p);
  EXPECT_FALSE(parseUsagePlanRequest(usagePlanToJson(p)).ok());  // id and created are not input
}

TEST_F(UsagePlansTest, MissingUnknownDisabledOrUncoveredKeysAreForbidden) {
  auto alice = key("alice");
  auto p = plan(R"({"name":"free","api_stages":[{"api_id":"api1","stage":"prod"}]})");
  EXPECT_EQ(admit(""), KeyVerdict::kForbidden);
  EXPECT_EQ(admit("not-a-key-of-this-server-at-all"), KeyVerdict::kForbidden);
  EXPECT_EQ(admit(alice.value), KeyVerdict::kForbidden);  // in no plan yet
  ASSERT_TRUE(service_->addKeyToPlan("free", "alice").ok());
  EXPECT_EQ(admit(alice.value), KeyVerdict::kAllowed);
  EXPECT_EQ(service_->admit(alice.value, "api1", "prod").key_id, alice.record.id);
  EXPECT_EQ(admit(alice.value, "beta"), KeyVerdict::kForbidden);  // a stage the plan lacks
  ASSERT_TRUE(service_->setApiKeyEnabled(alice.record.id, false).ok());
  EXPECT_EQ(admit(alice.value), KeyVerdict::kForbidden);
  ASSERT_TRUE(service_->setApiKeyEnabled("alice", true).ok());
  EXPECT_EQ(admit(alice.value), KeyVerdict::kAllowed);
  ASSERT_TRUE(service_->removeKeyFromPlan(p.id, "alice").ok());
  EXPECT_EQ(admit(alice.value), KeyVerdict::kForbidden);
  ASSERT_TRUE(service_->addKeyToPlan(p.id, "alice").ok());
  ASSERT_TRUE(service_->deleteApiKey("alice").ok());
  EXPECT_EQ(admit(alice.value), KeyVerdict::kForbidden);
}

TEST_F(UsagePlansTest, OnePlanPerKeyAndStage) {
  key("alice");
  plan(R"({"name":"a","api_stages":[{"api_id":"api1","stage":"prod"}]})");
  plan(
      R"({"name":"b","api_stages":[{"api_id":"api1","stage":"prod"},{"api_id":"x","stage":"y"}]})");
  plan(R"({"name":"c","api_stages":[{"api_id":"api1","stage":"beta"}]})");
  ASSERT_TRUE(service_->addKeyToPlan("a", "alice").ok());
  EXPECT_EQ(service_->addKeyToPlan("b", "alice").error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(service_->addKeyToPlan("c", "alice").ok());
  EXPECT_EQ(service_->addKeyToPlan("a", "alice").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(service_->addKeyToPlan("nope", "alice").error().code, ErrorCode::kNotFound);
}

TEST_F(UsagePlansTest, ThrottleCrossedWithRateAndBurst) {
  auto alice = key("alice");
  auto bob = key("bob");
  plan(R"({"name":"slow","throttle":{"rate_limit":1,"burst_limit":3},)"
       R"("api_stages":[{"api_id":"api1","stage":"prod"}]})");
  ASSERT_TRUE(service_->addKeyToPlan("slow", "alice").ok());
  ASSERT_TRUE(service_->addKeyToPlan("slow", "bob").ok());
  int allowed = 0;
  for (int i = 0; i < 5; ++i) allowed += admit(alice.value) == KeyVerdict::kAllowed;
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(admit(alice.value), KeyVerdict::kThrottled);
  EXPECT_EQ(admit(bob.value), KeyVerdict::kAllowed);  // each key has its own bucket
  now_ += kSecond;
  EXPECT_EQ(admit(alice.value), KeyVerdict::kAllowed);
  EXPECT_EQ(admit(alice.value), KeyVerdict::kThrottled);
}

TEST_F(UsagePlansTest, QuotaSurvivesARestartAndResetsWithItsPeriod) {
  auto alice = key("alice");
  plan(R"({"name":"daily","quota":{"limit":3,"period":"DAY"},)"
       R"("api_stages":[{"api_id":"api1","stage":"prod"}]})");
  ASSERT_TRUE(service_->addKeyToPlan("daily", "alice").ok());
  EXPECT_EQ(admit(alice.value), KeyVerdict::kAllowed);
  EXPECT_EQ(admit(alice.value), KeyVerdict::kAllowed);
  restart();  // the destructor flushes
  EXPECT_EQ(admit(alice.value), KeyVerdict::kAllowed);
  EXPECT_EQ(admit(alice.value), KeyVerdict::kLimitExceeded);
  now_ += kDay;
  EXPECT_EQ(admit(alice.value), KeyVerdict::kAllowed);
}

TEST_F(UsagePlansTest, UsageReportsUsedAndRemainingPerDay) {
  auto alice = key("alice");
  auto bob = key("bob");
  auto p = plan(R"({"name":"weekly","quota":{"limit":10,"period":"WEEK"},)"
                R"("api_stages":[{"api_id":"api1","stage":"prod"}]})");
  ASSERT_TRUE(service_->addKeyToPlan("weekly", "alice").ok());
  ASSERT_TRUE(service_->addKeyToPlan("weekly", "bob").ok());
  // 2026-11-25 is a Wednesday: two requests then, three the next day.
  for (int i = 0; i < 2; ++i) admit(alice.value);
  now_ += kDay;
  for (int i = 0; i < 3; ++i) admit(alice.value);
  admit(bob.value);
  auto report = service_->usage("weekly", "", "2026-11-24", "2026-11-27");
  ASSERT_TRUE(report.ok()) << report.error().message;
  using Days = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(report->items[alice.record.id], (Days{{0, 10}, {2, 8}, {3, 5}, {0, 5}}));
  EXPECT_EQ(report->items[bob.record.id], (Days{{0, 10}, {0, 10}, {1, 9}, {0, 9}}));
  auto one = service_->usage(p.id, "bob", "2026-11-26", "2026-11-26");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(usageReportToJson(*one),
            fmt::format(R"({{"usagePlanId":"{}","startDate":"2026-11-26","endDate":"2026-11-26",)"
                        R"("items":{{"{}":[[1,9]]}}}})",
                        p.id, bob.record.id));
  EXPECT_EQ(service_->usage("weekly", "", "2026-11-27", "2026-11-24").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->usage("weekly", "", "2026-11-27", "tomorrow").error().code,
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace gust::control
