// Schedules, topics and subscriptions in the SQLite store.
#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"

namespace gust::store {
namespace {

class SqliteEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "gust-store-events-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = openSqliteStore(dir_ / "gust.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void addFunction(std::string name) {
    FunctionRecord r;
    r.name = std::move(name);
    r.runtime = "python3.11";
    r.handler = "app.handler";
    r.code_sha256 = std::string(64, 'a');
    ASSERT_TRUE(store_->putFunction(r).ok());
  }

  static ScheduleRecord schedule(std::string name, std::string function) {
    ScheduleRecord s;
    s.name = std::move(name);
    s.expression = "rate(5 minutes)";
    s.function = std::move(function);
    s.anchor_ms = 1000;
    return s;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteEventsTest, SchedulesRoundTripAndSurviveReopening) {
  ScheduleRecord s = schedule("nightly", "fn");
  s.qualifier = "live";
  s.input = R"({"k": 1})";
  s.description = "every night";
  s.source = "manifest";
  auto created = store_->createSchedule(s);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE(created->created.empty());
  s.created = created->created;
  EXPECT_EQ(*created, s);
  EXPECT_EQ(store_->createSchedule(s).error().code, ErrorCode::kAlreadyExists);

  store_.reset();
  auto reopened = openSqliteStore(dir_ / "gust.db");
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(*reopened);
  auto got = store_->getSchedule("nightly");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, s);
  EXPECT_EQ(store_->getSchedule("other").error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteEventsTest, EnableDisableAndFiredTimes) {
  ASSERT_TRUE(store_->createSchedule(schedule("a", "fn")).ok());
  auto disabled = store_->setScheduleEnabled("a", false, 5000);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->enabled);
  EXPECT_EQ(disabled->anchor_ms, 1000);  // disabling keeps the anchor
  auto enabled = store_->setScheduleEnabled("a", true, 7000);
  ASSERT_TRUE(enabled.ok());
  EXPECT_TRUE(enabled->enabled);
  EXPECT_EQ(enabled->anchor_ms, 7000);  // enabling starts counting again
  ASSERT_TRUE(store_->recordScheduleFired("a", 9000).ok());
  EXPECT_EQ(store_->getSchedule("a")->last_fired_ms, 9000);
  EXPECT_EQ(store_->recordScheduleFired("gone", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->setScheduleEnabled("gone", true, 1).error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteEventsTest, ListsAndDeletesSchedules) {
  ASSERT_TRUE(store_->createSchedule(schedule("b", "fn1")).ok());
  ASSERT_TRUE(store_->createSchedule(schedule("a", "fn2")).ok());
  ASSERT_TRUE(store_->createSchedule(schedule("c", "fn1")).ok());
  auto all = store_->listSchedules("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "a");
  auto of_fn1 = store_->listSchedules("fn1");
  ASSERT_EQ(of_fn1->size(), 2u);
  EXPECT_EQ((*of_fn1)[1].name, "c");
  ASSERT_TRUE(store_->deleteSchedule("b").ok());
  EXPECT_EQ(store_->deleteSchedule("b").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->listSchedules("")->size(), 2u);
}

TEST_F(SqliteEventsTest, TopicsAndSubscriptions) {
  auto created = store_->createTopic("orders");
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->second);
  auto again = store_->createTopic("orders");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->second);
  EXPECT_EQ(again->first, created->first);
  ASSERT_TRUE(store_->createTopic("alerts").ok());
  EXPECT_EQ(store_->listTopics()->front().name, "alerts");

  auto sub = store_->subscribe({"", "orders", "fn1", "", ""});
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->id.size(), 36u);
  auto same = store_->subscribe({"", "orders", "fn1", "", ""});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, sub->id);  // idempotent
  ASSERT_TRUE(store_->subscribe({"", "orders", "fn1", "live", ""}).ok());
  ASSERT_TRUE(store_->subscribe({"", "orders", "fn2", "", ""}).ok());
  EXPECT_EQ(store_->subscribe({"", "missing", "fn1", "", ""}).error().code, ErrorCode::kNotFound);
  auto subs = store_->listSubscriptions("orders");
  ASSERT_TRUE(subs.ok());
  ASSERT_EQ(subs->size(), 3u);
  EXPECT_EQ((*subs)[0].id, sub->id);
  EXPECT_EQ((*subs)[1].qualifier, "live");
  EXPECT_EQ((*subs)[2].function, "fn2");

  ASSERT_TRUE(store_->unsubscribe("orders", sub->id).ok());
  EXPECT_EQ(store_->unsubscribe("orders", sub->id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->listSubscriptions("orders")->size(), 2u);
  ASSERT_TRUE(store_->deleteTopic("orders").ok());
  EXPECT_EQ(store_->listSubscriptions("orders").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteTopic("orders").error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteEventsTest, DeletingAFunctionDeletesItsSchedulesAndSubscriptions) {
  addFunction("fn1");
  addFunction("fn2");
  ASSERT_TRUE(store_->createSchedule(schedule("s1", "fn1")).ok());
  ASSERT_TRUE(store_->createSchedule(schedule("s2", "fn2")).ok());
  ASSERT_TRUE(store_->createTopic("t").ok());
  ASSERT_TRUE(store_->subscribe({"", "t", "fn1", "", ""}).ok());
  ASSERT_TRUE(store_->subscribe({"", "t", "fn2", "", ""}).ok());
  ASSERT_TRUE(store_->deleteFunction("fn1").ok());
  auto schedules = store_->listSchedules("");
  ASSERT_EQ(schedules->size(), 1u);
  EXPECT_EQ(schedules->front().name, "s2");
  auto subs = store_->listSubscriptions("t");
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ(subs->front().function, "fn2");
}

}  // namespace
}  // namespace gust::store
