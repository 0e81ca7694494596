// API keys, usage plans, their membership and per-day usage in the SQLite store.
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"

namespace gust::store {
namespace {

class SqliteApiKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "gust-apikeys-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store_ = open();
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> open() {
    auto store = openSqliteStore(dir_ / "gust.db");
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  static ApiKeyRecord key(std::string id, std::string name, std::string hash) {
    ApiKeyRecord k;
    k.id = std::move(id);
    k.name = std::move(name);
    k.description = "for tests";
    k.value_sha256 = std::move(hash);
    return k;
  }

  static UsagePlanRecord plan(std::string id, std::string name) {
    UsagePlanRecord p;
    p.id = std::move(id);
    p.name = std::move(name);
    p.throttle_rate = 2.5;
    p.throttle_burst = 10;
    p.quota_limit = 1000;
    p.quota_period = "MONTH";
    p.quota_offset = 5;
    p.api_stages = {{"api1", "prod"}, {"api2", "$default"}};
    return p;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteApiKeysTest, ApiKeysRoundTripAndSurviveReopening) {
  auto created = store_->createApiKey(key("k1", "alice", std::string(64, 'a')));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE(created->created.empty());
  EXPECT_EQ(created->last_updated, created->created);
  store_ = open();
  auto got = store_->getApiKey("k1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *created);

  ApiKeyRecord change = *got;
  change.enabled = false;
  change.name = "alice2";
  change.value_sha256 = "ignored";
  auto updated = store_->updateApiKey(change);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_FALSE(updated->enabled);
  EXPECT_EQ(updated->name, "alice2");
  EXPECT_EQ(updated->value_sha256, std::string(64, 'a'));
  EXPECT_EQ(*store_->getApiKey("k1"), *updated);
}

TEST_F(SqliteApiKeysTest, ApiKeyIdNameAndValueAreUnique) {
  ASSERT_TRUE(store_->createApiKey(key("k1", "alice", "h1")).ok());
  EXPECT_EQ(store_->createApiKey(key("k1", "bob", "h2")).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->createApiKey(key("k2", "alice", "h2")).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->createApiKey(key("k2", "bob", "h1")).error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store_->createApiKey(key("k2", "bob", "h2")).ok());
  auto keys = store_->listApiKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].name, "alice");
  EXPECT_EQ(store_->getApiKey("nope").error().code, ErrorCode::kNotFound);
  ApiKeyRecord rename = key("k2", "alice", "");
  EXPECT_EQ(store_->updateApiKey(rename).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->updateApiKey(key("k9", "x", "")).error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteApiKeysTest, UsagePlansRoundTrip) {
  auto created = store_->createUsagePlan(plan("p1", "gold"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  UsagePlanRecord bare;
  bare.id = "p2";
  bare.name = "bare";
  ASSERT_TRUE(store_->createUsagePlan(bare).ok());
  store_ = open();
  EXPECT_EQ(*store_->getUsagePlan("p1"), *created);
  auto got = store_->getUsagePlan("p2");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->throttle_rate);
  EXPECT_FALSE(got->quota_limit);
  EXPECT_TRUE(got->api_stages.empty());
  EXPECT_EQ(store_->createUsagePlan(plan("p3", "gold")).error().code, ErrorCode::kAlreadyExists);
  auto plans = store_->listUsagePlans();
  ASSERT_TRUE(plans.ok());
  ASSERT_EQ(plans->size(), 2u);
  EXPECT_EQ((*plans)[0].name, "bare");
}

TEST_F(SqliteApiKeysTest, KeysInPlans) {
  ASSERT_TRUE(store_->createApiKey(key("k1", "alice", "h1")).ok());
  ASSERT_TRUE(store_->createApiKey(key("k2", "bob", "h2")).ok());
  ASSERT_TRUE(store_->createUsagePlan(plan("p1", "gold")).ok());
  ASSERT_TRUE(store_->addUsagePlanKey("p1", "k2").ok());
  ASSERT_TRUE(store_->addUsagePlanKey("p1", "k1").ok());
  EXPECT_EQ(store_->addUsagePlanKey("p1", "k1").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->addUsagePlanKey("p1", "k9").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->addUsagePlanKey("p9", "k1").error().code, ErrorCode::kNotFound);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*store_->listUsagePlanKeys("p1"), (Pairs{{"p1", "k1"}, {"p1", "k2"}}));
  EXPECT_EQ(store_->listUsagePlanKeys("p9").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->deleteApiKey("k1").ok());  // leaves its plans too
  EXPECT_EQ(*store_->listUsagePlanKeys(""), (Pairs{{"p1", "k2"}}));
  EXPECT_EQ(store_->removeUsagePlanKey("p1", "k1").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->removeUsagePlanKey("p1", "k2").ok());
  EXPECT_TRUE(store_->listUsagePlanKeys("p1")->empty());
  EXPECT_EQ(store_->deleteApiKey("k1").error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteApiKeysTest, UsageAddsUpPerDayAndGoesWithItsPlan) {
  ASSERT_TRUE(store_->createUsagePlan(plan("p1", "gold")).ok());
  ASSERT_TRUE(store_
                  ->addUsage({{"p1", "k1", "2026-11-24", 3},
                              {"p1", "k1", "2026-11-25", 1},
                              {"p1", "k2", "2026-11-25", 7}})
                  .ok());
  ASSERT_TRUE(store_->addUsage({{"p1", "k1", "2026-11-25", 4}}).ok());
  store_ = open();
  auto all = store_->queryUsage("p1", "", "2026-11-01", "2026-11-30");
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, (std::vector<UsageRecord>{{"p1", "k1", "2026-11-24", 3},
                                            {"p1", "k1", "2026-11-25", 5},
                                            {"p1", "k2", "2026-11-25", 7}}));
  EXPECT_EQ(*store_->queryUsage("p1", "k1", "2026-11-25", "2026-11-25"),
            (std::vector<UsageRecord>{{"p1", "k1", "2026-11-25", 5}}));
  ASSERT_TRUE(store_->deleteUsagePlan("p1").ok());
  EXPECT_TRUE(store_->queryUsage("p1", "", "2026-01-01", "2026-12-31")->empty());
  EXPECT_EQ(store_->deleteUsagePlan("p1").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace gust::store
