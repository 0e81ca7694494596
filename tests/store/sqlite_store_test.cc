#include "store/sqlite/sqlite_store.h"

#include "store/log_writer.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace gust::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "gust-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_path_ = dir_ / "gust.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> open() {
    auto store = openSqliteStore(db_path_);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  static FunctionRecord sample(std::string name) {
    FunctionRecord r;
    r.name = std::move(name);
    r.runtime = "python3.11";
    r.handler = "app.handler";
    r.memory_mb = 256;
    r.timeout_s = 30;
    r.environment = {{"GREETING", "hello \"world\"\n\xc3\xa9"}, {"EMPTY", ""}};
    r.description = "a test function";
    r.code_sha256 = std::string(64, 'a');
    r.code_size = 1234;
    return r;
  }

  std::filesystem::path dir_;
  std::filesystem::path db_path_;
};

TEST_F(SqliteStoreTest, PutThenGetReturnsTheSameRecord) {
  auto store = open();
  ASSERT_TRUE(store);
  auto put = store->putFunction(sample("hello"));
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->revision, 1);
  auto got = store->getFunction("hello");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, *put);
  FunctionRecord expected = sample("hello");
  expected.revision = 1;
  expected.last_modified = got->last_modified;
  expected.revision_id = got->revision_id;
  EXPECT_EQ(*got, expected);
  EXPECT_EQ(got->version, "$LATEST");
}

TEST_F(SqliteStoreTest, LastModifiedIsLambdaStyleIso8601) {
  auto store = open();
  ASSERT_TRUE(store);
  auto put = store->putFunction(sample("f"));
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(std::regex_match(put->last_modified,
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000)")))
      << put->last_modified;
  // The caller's value is ignored: the store stamps the time of the write.
  FunctionRecord r = sample("f");
  r.last_modified = "yesterday";
  auto again = store->putFunction(r);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->last_modified, "yesterday");
}

TEST_F(SqliteStoreTest, EveryPutBumpsTheRevision) {
  auto store = open();
  ASSERT_TRUE(store);
  for (int i = 1; i <= 3; ++i) {
    FunctionRecord r = sample("f");
    r.memory_mb = 128 * i;
    r.revision = 99;  // ignored: the store owns revisions
    auto put = store->putFunction(r);
    ASSERT_TRUE(put.ok());
    EXPECT_EQ(put->revision, i);
    EXPECT_EQ(store->getFunction("f")->memory_mb, 128 * i);
  }
  auto other = store->putFunction(sample("g"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->revision, 1);
}

TEST_F(SqliteStoreTest, ListIsOrderedByName) {
  auto store = open();
  ASSERT_TRUE(store);
  for (const char* n : {"charlie", "alpha", "bravo"})
    ASSERT_TRUE(store->putFunction(sample(n)).ok());
  auto list = store->listFunctions();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[1].name, "bravo");
  EXPECT_EQ((*list)[2].name, "charlie");
  EXPECT_EQ((*list)[0].environment, sample("x").environment);
}

TEST_F(SqliteStoreTest, EmptyStoreListsNothing) {
  auto store = open();
  ASSERT_TRUE(store);
  auto list = store->listFunctions();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(SqliteStoreTest, MissingFunctionsAreNotFound) {
  auto store = open();
  ASSERT_TRUE(store);
  auto got = store->getFunction("nope");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_NE(got.error().message.find("nope"), std::string::npos);
  Status del = store->deleteFunction("nope");
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, DeleteRemovesOnlyThatFunction) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->putFunction(sample("a")).ok());
  ASSERT_TRUE(store->putFunction(sample("b")).ok());
  ASSERT_TRUE(store->deleteFunction("a").ok());
  EXPECT_EQ(store->getFunction("a").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store->getFunction("b").ok());
  // A function created again after deletion starts a new history.
  auto again = store->putFunction(sample("a"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revision, 1);
}

TEST_F(SqliteStoreTest, NamesAreBoundNotInterpolated) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->putFunction(sample("x")).ok());
  EXPECT_EQ(store->getFunction("x' OR '1'='1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->deleteFunction("x' OR '1'='1").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store->getFunction("x").ok());
}

TEST_F(SqliteStoreTest, DataSurvivesReopen) {
  FunctionRecord stored;
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->putFunction(sample("keep")).ok());
    auto second = store->putFunction(sample("keep"));
    ASSERT_TRUE(second.ok());
    stored = *second;
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto got = store->getFunction("keep");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, stored);
  EXPECT_EQ(got->revision, 2);
  auto third = store->putFunction(sample("keep"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->revision, 3);
}

TEST_F(SqliteStoreTest, UsesWalModeAndRecordsTheSchemaVersion) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->putFunction(sample("f")).ok());
  // The WAL file exists while a connection in WAL mode is open.
  EXPECT_TRUE(std::filesystem::exists(dir_ / "gust.db-wal"));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_GE(sqlite3_column_int(stmt, 0), 1);
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, RefusesASchemaFromTheFuture) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 1000", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = openSqliteStore(db_path_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("newer"), std::string::npos) << store.error().message;
}

TEST_F(SqliteStoreTest, OpenFailsWithAHelpfulMessageWhenTheDirectoryIsMissing) {
  auto store = openSqliteStore(dir_ / "missing" / "gust.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("missing"), std::string::npos) << store.error().message;
}

TEST_F(SqliteStoreTest, ConcurrentPutsAreAllCountedOnce) {
  auto store = open();
  ASSERT_TRUE(store);
  constexpr int kThreads = 8;
  constexpr int kPutsPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPutsPerThread; ++i) {
        if (!store->putFunction(sample("shared")).ok()) ++failures;
        if (!store->putFunction(sample("own-" + std::to_string(t))).ok()) ++failures;
        if (!store->listFunctions().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->getFunction("shared")->revision, kThreads * kPutsPerThread);
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(store->getFunction("own-" + std::to_string(t))->revision, kPutsPerThread);
  EXPECT_EQ(store->listFunctions()->size(), static_cast<size_t>(kThreads + 1));
}

TEST_F(SqliteStoreTest, TwoConnectionsToOneFileSeeEachOthersWrites) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->putFunction(sample("f")).ok());
  auto put = b->putFunction(sample("f"));
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->revision, 2);
  EXPECT_EQ(a->getFunction("f")->revision, 2);
}

}  // namespace
}  // namespace gust::store

namespace gust::store {
namespace {

class SqliteLogsTest : public SqliteStoreTest {
 protected:
  static LogRecord log(std::string function, std::string request_id, int64_t ts,
                       std::string version = "$LATEST") {
    LogRecord r;
    r.function = std::move(function);
    r.version = std::move(version);
    r.request_id = std::move(request_id);
    r.timestamp_ms = ts;
    r.text = "START RequestId: " + r.request_id + " Version: " + r.version + "\n";
    return r;
  }
};

TEST_F(SqliteStoreTest, ScalingFieldsRoundTrip) {
  auto store = open();
  ASSERT_TRUE(store);
  FunctionRecord r = sample("f");
  r.reserved_concurrency = 0;
  r.provisioned_concurrency = 0;
  r.ephemeral_storage_mb = 2048;
  r.network = "egress";
  auto put = store->putFunction(r);
  ASSERT_TRUE(put.ok());
  auto got = store->getFunction("f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->reserved_concurrency, std::optional<int>(0));
  EXPECT_EQ(got->ephemeral_storage_mb, 2048);
  EXPECT_EQ(got->network, "egress");
  EXPECT_EQ(*got, *put);
  auto unreserved = store->putFunction(sample("g"));
  ASSERT_TRUE(unreserved.ok());
  EXPECT_EQ(store->getFunction("g")->reserved_concurrency, std::nullopt);
}

TEST_F(SqliteLogsTest, AppendAndQueryWithFilters) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store
                  ->appendLogs({log("f", "r1", 1000), log("f", "r2", 2000), log("g", "r3", 2500),
                                log("f", "r4", 3000, "2")})
                  .ok());
  LogQuery q;
  q.function = "f";
  auto all = store->queryLogs(q);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].request_id, "r1");
  EXPECT_EQ((*all)[0].text, "START RequestId: r1 Version: $LATEST\n");
  EXPECT_EQ((*all)[0].timestamp_ms, 1000);
  EXPECT_LT((*all)[0].id, (*all)[1].id);

  q.request_id = "r2";
  auto one = store->queryLogs(q);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].request_id, "r2");

  LogQuery window;
  window.function = "f";
  window.since_ms = 1500;
  window.until_ms = 3000;
  auto in_window = store->queryLogs(window);
  ASSERT_EQ(in_window->size(), 1u);
  EXPECT_EQ((*in_window)[0].request_id, "r2");

  LogQuery by_version;
  by_version.function = "f";
  by_version.version = "2";
  ASSERT_EQ(store->queryLogs(by_version)->size(), 1u);

  LogQuery page;
  page.function = "f";
  page.limit = 2;
  auto first = store->queryLogs(page);
  ASSERT_EQ(first->size(), 2u);
  page.after_id = first->back().id;
  auto rest = store->queryLogs(page);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].request_id, "r4");
}

TEST_F(SqliteLogsTest, PruneDeletesOnlyOlderRecords) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->appendLogs({log("f", "old", 1000), log("f", "new", 5000)}).ok());
  auto pruned = store->pruneLogs(2000);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  LogQuery q;
  q.function = "f";
  auto left = store->queryLogs(q);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].request_id, "new");
}

TEST_F(SqliteLogsTest, LogWriterBatchesAndPrunesByRetention) {
  auto store = open();
  ASSERT_TRUE(store);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  ASSERT_TRUE(store->appendLogs({log("f", "expired", now - 3 * 3600 * 1000)}).ok());
  LogWriterOptions options;
  options.retention = std::chrono::hours(2);
  {
    LogWriter writer(*store, options);
    for (int i = 0; i < 10; ++i) writer.add(log("f", "r" + std::to_string(i), now));
    writer.flush();
    LogQuery q;
    q.function = "f";
    auto got = store->queryLogs(q);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 10u) << "the expired record was pruned, the new ones written";
    EXPECT_EQ((*got)[0].request_id, "r0");
    EXPECT_EQ(writer.dropped(), 0u);
  }
}

TEST_F(SqliteLogsTest, MigratesAVersionOneDatabase) {
  {
    // The schema as version 1 shipped it, with one function.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
CREATE TABLE functions (
  name TEXT PRIMARY KEY NOT NULL, runtime TEXT NOT NULL, handler TEXT NOT NULL,
  memory_mb INTEGER NOT NULL, timeout_s INTEGER NOT NULL, environment TEXT NOT NULL,
  description TEXT NOT NULL, code_sha256 TEXT NOT NULL, code_size INTEGER NOT NULL,
  last_modified TEXT NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO functions VALUES ('old', 'python3.11', 'app.handler', 128, 3, '{}', '',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 10,
  '2026-01-01T00:00:00.000+0000', 4);
PRAGMA user_version = 1;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto old = store->getFunction("old");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->revision, 4);
  EXPECT_EQ(old->reserved_concurrency, std::nullopt);
  EXPECT_EQ(old->provisioned_concurrency, 0);
  EXPECT_EQ(old->ephemeral_storage_mb, 512);
  EXPECT_EQ(old->network, "none");
  ASSERT_TRUE(store->appendLogs({log("old", "r", 1)}).ok());
  auto put = store->putFunction(*old);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->revision, 5);
}

}  // namespace
}  // namespace gust::store

namespace gust::store {
namespace {

TEST_F(SqliteStoreTest, EventInvokeConfigsArePutListedAndDeletedWithTheirFunction) {
  auto store = open();
  ASSERT_TRUE(store);
  EventInvokeConfigRecord config;
  config.function = "f";
  config.qualifier = "$LATEST";
  config.maximum_retry_attempts = 1;
  config.on_failure = "arn:aws:sqs:us-east-1:000000000000:failed";
  EXPECT_EQ(store->putEventInvokeConfig(config).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store->putFunction(sample("f")).ok());
  auto put = store->putEventInvokeConfig(config);
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_GT(put->last_modified_ms, 0);
  auto got = store->getEventInvokeConfig("f", "$LATEST");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *put);
  EXPECT_FALSE(got->maximum_event_age_s.has_value());
  config.qualifier = "live";
  config.maximum_retry_attempts.reset();
  config.maximum_event_age_s = 60;
  ASSERT_TRUE(store->putEventInvokeConfig(config).ok());
  auto list = store->listEventInvokeConfigs("f");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].qualifier, "$LATEST");
  EXPECT_EQ((*list)[1].maximum_event_age_s, 60);
  EXPECT_TRUE(store->deleteEventInvokeConfig("f", "live").ok());
  EXPECT_EQ(store->deleteEventInvokeConfig("f", "live").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->getEventInvokeConfig("f", "live").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store->deleteFunction("f").ok());
  ASSERT_TRUE(store->putFunction(sample("f")).ok());
  EXPECT_TRUE(store->listEventInvokeConfigs("f")->empty());
}

}  // namespace
}  // namespace gust::store
