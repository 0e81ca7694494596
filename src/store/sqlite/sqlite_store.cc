// SqliteStore: the Store on one SQLite database file.
//
// One connection guarded by one mutex: SQLite serialises writers anyway, and the metadata store
// is far from the hot path (invocations read configuration from the engine's cache). WAL mode
// lets other processes (the CLI, backups) read while the server writes; synchronous=FULL makes
// every committed transaction durable, as the Store contract promises. The schema is versioned
// with PRAGMA user_version and migrated forward on open.
#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace gust::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// Migration i brings the schema from user_version i to i + 1. Append only; never edit one that
// has shipped.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE functions (
  name          TEXT PRIMARY KEY NOT NULL,
  runtime       TEXT NOT NULL,
  handler       TEXT NOT NULL,
  memory_mb     INTEGER NOT NULL,
  timeout_s     INTEGER NOT NULL,
  environment   TEXT NOT NULL,  -- JSON object of string to string
  description   TEXT NOT NULL,
  code_sha256   TEXT NOT NULL,
  code_size     INTEGER NOT NULL,
  last_modified TEXT NOT NULL,
  revision      INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
ALTER TABLE functions ADD COLUMN reserved_concurrency INTEGER;  -- NULL: unreserved
ALTER TABLE functions ADD COLUMN provisioned_concurrency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE functions ADD COLUMN ephemeral_storage_mb INTEGER NOT NULL DEFAULT 512;
ALTER TABLE functions ADD COLUMN network TEXT NOT NULL DEFAULT 'none';
CREATE TABLE logs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a safe cursor
  function     TEXT NOT NULL,
  version      TEXT NOT NULL,
  request_id   TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  text         TEXT NOT NULL
);
CREATE INDEX logs_by_function_time ON logs (function, timestamp_ms);
CREATE INDEX logs_by_request ON logs (request_id);
CREATE INDEX logs_by_time ON logs (timestamp_ms);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Error sqliteError(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg =
      fmt::format("metadata store: {}: {} (sqlite error {})", what, sqlite3_errmsg(db), code);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
    return Error::unavailable(msg + "; another process holds the database lock, retry later");
  return Error::internal(msg);
}

// The time now as Lambda formats LastModified: 2026-11-24T20:46:29.123+0000.
std::string nowIso8601() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}+0000", buf, static_cast<int>(ms % 1000));
}

std::string environmentToJson(const std::map<std::string, std::string>& env) {
  boost::json::object obj;
  for (const auto& [k, v] : env) obj[k] = v;
  return boost::json::serialize(obj);
}

Result<std::map<std::string, std::string>> environmentFromJson(std::string_view text,
                                                               std::string_view function) {
  auto corrupt = [&] {
    return Error::internal(fmt::format(
        "metadata store: environment of function \"{}\" is not a JSON object of strings; the "
        "database is corrupt — redeploy the function to rewrite it",
        function));
  };
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return corrupt();
  std::map<std::string, std::string> env;
  for (const auto& [k, val] : v.get_object()) {
    if (!val.is_string()) return corrupt();
    env.emplace(std::string(k), std::string(val.get_string()));
  }
  return env;
}

Status execOn(sqlite3* db, const std::string& sql, std::string_view what) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqliteError(db, fmt::format("cannot {}", what));
  return okStatus();
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(DbPtr db) : db_(std::move(db)) {}

  Result<FunctionRecord> putFunction(FunctionRecord record) override {
    std::lock_guard lock(mu_);
    // IMMEDIATE takes the write lock up front, so the revision read below cannot race another
    // process's write between the SELECT and the INSERT.
    GUST_TRY(execOn(db_.get(), "BEGIN IMMEDIATE", "begin transaction"));
    Result<FunctionRecord> result = putLocked(std::move(record));
    if (!result.ok()) {
      (void)execOn(db_.get(), "ROLLBACK", "roll back");
      return result;
    }
    Status committed = execOn(db_.get(), "COMMIT", "commit");
    if (!committed.ok()) {
      (void)execOn(db_.get(), "ROLLBACK", "roll back");
      return committed.error();
    }
    return result;
  }

  Result<FunctionRecord> getFunction(std::string_view name) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kSelectColumns) + " WHERE name = ?1"));
    sqlite3_bind_text(stmt.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE)
      return Error::notFound(fmt::format(
          "function \"{}\" does not exist; list functions to see the deployed names", name));
    if (rc != SQLITE_ROW) return sqliteError(db_.get(), "cannot read function");
    return rowToRecord(stmt.get());
  }

  Result<std::vector<FunctionRecord>> listFunctions() override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kSelectColumns) + " ORDER BY name"));
    std::vector<FunctionRecord> out;
    for (;;) {
      int rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqliteError(db_.get(), "cannot list functions");
      GUST_ASSIGN_OR_RETURN(FunctionRecord r, rowToRecord(stmt.get()));
      out.push_back(std::move(r));
    }
    return out;
  }

  Status deleteFunction(std::string_view name) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare("DELETE FROM functions WHERE name = ?1"));
    sqlite3_bind_text(stmt.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE)
      return sqliteError(db_.get(), "cannot delete function");
    if (sqlite3_changes(db_.get()) == 0)
      return Error::notFound(fmt::format(
          "function \"{}\" does not exist; list functions to see the deployed names", name));
    return okStatus();
  }

  Status appendLogs(std::vector<LogRecord> records) override {
    if (records.empty()) return okStatus();
    std::lock_guard lock(mu_);
    GUST_TRY(execOn(db_.get(), "BEGIN IMMEDIATE", "begin transaction"));
    Status status = [&]() -> Status {
      GUST_ASSIGN_OR_RETURN(
          StmtPtr stmt,
          prepare("INSERT INTO logs (function, version, request_id, timestamp_ms, text) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)"));
      for (const LogRecord& r : records) {
        sqlite3_reset(stmt.get());
        bindText(stmt.get(), 1, r.function);
        bindText(stmt.get(), 2, r.version);
        bindText(stmt.get(), 3, r.request_id);
        sqlite3_bind_int64(stmt.get(), 4, r.timestamp_ms);
        bindText(stmt.get(), 5, r.text);
        if (sqlite3_step(stmt.get()) != SQLITE_DONE)
          return sqliteError(db_.get(), "cannot write logs");
      }
      return okStatus();
    }();
    if (status.ok()) status = execOn(db_.get(), "COMMIT", "commit");
    if (!status.ok()) (void)execOn(db_.get(), "ROLLBACK", "roll back");
    return status;
  }

  Result<std::vector<LogRecord>> queryLogs(const LogQuery& q) override {
    std::lock_guard lock(mu_);
    std::string sql =
        "SELECT id, function, version, request_id, timestamp_ms, text FROM logs WHERE "
        "function = ?1 AND timestamp_ms >= ?2 AND timestamp_ms < ?3 AND id > ?4";
    if (q.version) sql += " AND version = ?5";
    if (q.request_id) sql += " AND request_id = ?6";
    sql += " ORDER BY id LIMIT ?7";
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(sql));
    bindText(stmt.get(), 1, q.function);
    sqlite3_bind_int64(stmt.get(), 2, q.since_ms);
    sqlite3_bind_int64(stmt.get(), 3, q.until_ms);
    sqlite3_bind_int64(stmt.get(), 4, q.after_id);
    if (q.version) bindText(stmt.get(), 5, *q.version);
    if (q.request_id) bindText(stmt.get(), 6, *q.request_id);
    sqlite3_bind_int(stmt.get(), 7, std::max(0, q.limit));
    std::vector<LogRecord> out;
    for (;;) {
      int rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqliteError(db_.get(), "cannot read logs");
      LogRecord r;
      r.id = sqlite3_column_int64(stmt.get(), 0);
      r.function = columnText(stmt.get(), 1);
      r.version = columnText(stmt.get(), 2);
      r.request_id = columnText(stmt.get(), 3);
      r.timestamp_ms = sqlite3_column_int64(stmt.get(), 4);
      r.text = columnText(stmt.get(), 5);
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<int64_t> pruneLogs(int64_t before_ms) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare("DELETE FROM logs WHERE timestamp_ms < ?1"));
    sqlite3_bind_int64(stmt.get(), 1, before_ms);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE)
      return sqliteError(db_.get(), "cannot delete expired logs");
    return static_cast<int64_t>(sqlite3_changes(db_.get()));
  }

 private:
  static constexpr std::string_view kSelectColumns =
      "SELECT name, runtime, handler, memory_mb, timeout_s, environment, description, "
      "code_sha256, code_size, last_modified, revision, reserved_concurrency, "
      "provisioned_concurrency, ephemeral_storage_mb, network FROM functions";

  static void bindText(sqlite3_stmt* stmt, int i, std::string_view s) {
    sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }

  Result<StmtPtr> prepare(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) !=
        SQLITE_OK)
      return sqliteError(db_.get(), "cannot prepare statement");
    return StmtPtr(raw);
  }

  Result<FunctionRecord> putLocked(FunctionRecord record) {
    int64_t previous = 0;
    {
      GUST_ASSIGN_OR_RETURN(StmtPtr stmt,
                            prepare("SELECT revision FROM functions WHERE name = ?1"));
      sqlite3_bind_text(stmt.get(), 1, record.name.data(), static_cast<int>(record.name.size()),
                        SQLITE_TRANSIENT);
      int rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_ROW) {
        previous = sqlite3_column_int64(stmt.get(), 0);
      } else if (rc != SQLITE_DONE) {
        return sqliteError(db_.get(), "cannot read function revision");
      }
    }
    record.revision = previous + 1;
    record.last_modified = nowIso8601();
    std::string env = environmentToJson(record.environment);

    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare("INSERT OR REPLACE INTO functions (name, runtime, handler, memory_mb, timeout_s, "
                "environment, description, code_sha256, code_size, last_modified, revision, "
                "reserved_concurrency, provisioned_concurrency, ephemeral_storage_mb, network) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
    auto bindText = [&](int i, const std::string& s) {
      sqlite3_bind_text(stmt.get(), i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    };
    bindText(1, record.name);
    bindText(2, record.runtime);
    bindText(3, record.handler);
    sqlite3_bind_int(stmt.get(), 4, record.memory_mb);
    sqlite3_bind_int(stmt.get(), 5, record.timeout_s);
    bindText(6, env);
    bindText(7, record.description);
    bindText(8, record.code_sha256);
    sqlite3_bind_int64(stmt.get(), 9, record.code_size);
    bindText(10, record.last_modified);
    sqlite3_bind_int64(stmt.get(), 11, record.revision);
    if (record.reserved_concurrency)
      sqlite3_bind_int(stmt.get(), 12, *record.reserved_concurrency);
    else
      sqlite3_bind_null(stmt.get(), 12);
    sqlite3_bind_int(stmt.get(), 13, record.provisioned_concurrency);
    sqlite3_bind_int(stmt.get(), 14, record.ephemeral_storage_mb);
    bindText(15, record.network);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE)
      return sqliteError(db_.get(), "cannot write function");
    return record;
  }

  static std::string columnText(sqlite3_stmt* stmt, int i) {
    const unsigned char* p = sqlite3_column_text(stmt, i);
    int n = sqlite3_column_bytes(stmt, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }

  static Result<FunctionRecord> rowToRecord(sqlite3_stmt* stmt) {
    FunctionRecord r;
    r.name = columnText(stmt, 0);
    r.runtime = columnText(stmt, 1);
    r.handler = columnText(stmt, 2);
    r.memory_mb = sqlite3_column_int(stmt, 3);
    r.timeout_s = sqlite3_column_int(stmt, 4);
    GUST_ASSIGN_OR_RETURN(r.environment, environmentFromJson(columnText(stmt, 5), r.name));
    r.description = columnText(stmt, 6);
    r.code_sha256 = columnText(stmt, 7);
    r.code_size = sqlite3_column_int64(stmt, 8);
    r.last_modified = columnText(stmt, 9);
    r.revision = sqlite3_column_int64(stmt, 10);
    if (sqlite3_column_type(stmt, 11) != SQLITE_NULL)
      r.reserved_concurrency = sqlite3_column_int(stmt, 11);
    r.provisioned_concurrency = sqlite3_column_int(stmt, 12);
    r.ephemeral_storage_mb = sqlite3_column_int(stmt, 13);
    r.network = columnText(stmt, 14);
    return r;
  }

  std::mutex mu_;  // guards db_: one statement at a time on the single connection
  DbPtr db_;
};

Result<int> userVersion(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK)
    return sqliteError(db, "cannot read schema version");
  StmtPtr stmt(raw);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return sqliteError(db, "cannot read schema version");
  return sqlite3_column_int(stmt.get(), 0);
}

Status migrate(sqlite3* db, const std::filesystem::path& path) {
  GUST_TRY(execOn(db, "BEGIN IMMEDIATE", "begin schema migration"));
  Status status = [&]() -> Status {
    GUST_ASSIGN_OR_RETURN(int version, userVersion(db));
    if (version > kSchemaVersion)
      return Error::unavailable(fmt::format(
          "metadata store {} has schema version {}, newer than this gust understands ({}); "
          "upgrade gust or restore a backup",
          path.string(), version, kSchemaVersion));
    for (int v = version; v < kSchemaVersion; ++v) {
      GUST_TRY(execOn(db, kMigrations[v], fmt::format("migrate schema to version {}", v + 1)));
    }
    if (version != kSchemaVersion)
      GUST_TRY(execOn(db, fmt::format("PRAGMA user_version = {}", kSchemaVersion),
                      "set schema version"));
    return okStatus();
  }();
  if (!status.ok()) {
    (void)execOn(db, "ROLLBACK", "roll back schema migration");
    return status;
  }
  return execOn(db, "COMMIT", "commit schema migration");
}

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);  // sqlite3_open_v2 returns a handle to close even when it fails
  if (rc != SQLITE_OK)
    return Error::unavailable(
        fmt::format("cannot open metadata store {}: {}; check the directory exists and is writable",
                    path.string(), raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  // journal_mode answers with a row; sqlite3_exec discards it. A database on a filesystem
  // without shared memory support stays in its old mode, which is still correct, only slower.
  GUST_TRY(execOn(db.get(), "PRAGMA journal_mode = WAL", "enable WAL mode"));
  GUST_TRY(execOn(db.get(), "PRAGMA synchronous = FULL", "set synchronous=FULL"));
  GUST_TRY(migrate(db.get(), path));
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(db)));
}

}  // namespace gust::store
