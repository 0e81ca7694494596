// What Gust's SQLite databases share (the metadata store, the event queue): handles that close
// themselves, errors that name the database and say what to do, and opening a database file in
// WAL mode with synchronous=FULL (a committed transaction is on disk), a busy timeout, and a
// schema migrated forward by PRAGMA user_version.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::store::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// "<label>: <what>: <sqlite's message> (sqlite error N)", as kUnavailable with a hint when the
// database is locked by another process or the disk is full, else kInternal.
Error sqliteError(sqlite3* db, std::string_view label, std::string_view what);

// Runs SQL that returns no rows (a returned row is ignored); `what` says what it does, e.g.
// "begin a transaction".
Status exec(sqlite3* db, const std::string& sql, std::string_view label, std::string_view what);

// Opens `path` (creating it), sets WAL mode, synchronous=FULL, a busy timeout and extended
// result codes, and applies `migrations` it lacks in one transaction: migration i brings the
// schema from user_version i to i + 1 (append only; never edit one that has shipped). A
// database newer than `migrations` is kUnavailable. `label` names the database in errors, e.g.
// "metadata store".
Result<DbPtr> openDatabase(const std::filesystem::path& path, std::string_view label,
                           std::span<const char* const> migrations);

}  // namespace gust::store::sqlite
