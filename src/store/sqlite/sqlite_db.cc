#include "store/sqlite/sqlite_db.h"

#include <fmt/format.h>

namespace gust::store::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

Result<int> userVersion(sqlite3* db, std::string_view label) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK)
    return sqliteError(db, label, "cannot read schema version");
  StmtPtr stmt(raw);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW)
    return sqliteError(db, label, "cannot read schema version");
  return sqlite3_column_int(stmt.get(), 0);
}

Status migrate(sqlite3* db, const std::filesystem::path& path, std::string_view label,
               std::span<const char* const> migrations) {
  int latest = static_cast<int>(migrations.size());
  GUST_TRY(exec(db, "BEGIN IMMEDIATE", label, "begin schema migration"));
  Status status = [&]() -> Status {
    GUST_ASSIGN_OR_RETURN(int version, userVersion(db, label));
    if (version > latest)
      return Error::unavailable(fmt::format(
          "{} {} has schema version {}, newer than this gust understands ({}); upgrade gust or "
          "restore a backup",
          label, path.string(), version, latest));
    for (int v = version; v < latest; ++v)
      GUST_TRY(exec(db, migrations[static_cast<size_t>(v)], label,
                    fmt::format("migrate schema to version {}", v + 1)));
    if (version != latest)
      GUST_TRY(
          exec(db, fmt::format("PRAGMA user_version = {}", latest), label, "set schema version"));
    return okStatus();
  }();
  if (!status.ok()) {
    (void)exec(db, "ROLLBACK", label, "roll back schema migration");
    return status;
  }
  return exec(db, "COMMIT", label, "commit schema migration");
}

}  // namespace

Error sqliteError(sqlite3* db, std::string_view label, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg =
      fmt::format("{}: {}: {} (sqlite error {})", label, what, sqlite3_errmsg(db), code);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
    return Error::unavailable(msg + "; another process holds the database lock, retry later");
  if ((code & 0xff) == SQLITE_FULL)
    return Error::unavailable(msg + "; free space on the data directory's disk");
  return Error::internal(msg);
}

Status exec(sqlite3* db, const std::string& sql, std::string_view label, std::string_view what) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqliteError(db, label, fmt::format("cannot {}", what));
  return okStatus();
}

Result<DbPtr> openDatabase(const std::filesystem::path& path, std::string_view label,
                           std::span<const char* const> migrations) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);  // sqlite3_open_v2 returns a handle to close even when it fails
  if (rc != SQLITE_OK)
    return Error::unavailable(
        fmt::format("cannot open {} {}: {}; check the directory exists and is writable", label,
                    path.string(), raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  // journal_mode answers with a row; sqlite3_exec discards it. A database on a filesystem
  // without shared memory support stays in its old mode, which is still correct, only slower.
  GUST_TRY(exec(db.get(), "PRAGMA journal_mode = WAL", label, "enable WAL mode"));
  GUST_TRY(exec(db.get(), "PRAGMA synchronous = FULL", label, "set synchronous=FULL"));
  GUST_TRY(migrate(db.get(), path, label, migrations));
  return db;
}

}  // namespace gust::store::sqlite
