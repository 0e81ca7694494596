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
#include <charconv>
#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "store/sqlite/sqlite_db.h"

namespace gust::store {
namespace {

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
    R"sql(
ALTER TABLE functions ADD COLUMN role TEXT NOT NULL DEFAULT '';
ALTER TABLE functions ADD COLUMN revision_id TEXT NOT NULL DEFAULT '';
-- The highest version number ever published: numbers are never reused, even after a delete.
ALTER TABLE functions ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0;
-- Every existing function gets a random (version 4) UUID as its revision id.
UPDATE functions SET revision_id =
  lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
  substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1) ||
  substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
-- Published versions: immutable snapshots of $LATEST. Reserved concurrency is not copied: it is
-- the function's, whichever version runs.
CREATE TABLE versions (
  function                TEXT NOT NULL,
  version                 INTEGER NOT NULL,
  runtime                 TEXT NOT NULL,
  handler                 TEXT NOT NULL,
  memory_mb               INTEGER NOT NULL,
  timeout_s               INTEGER NOT NULL,
  environment             TEXT NOT NULL,  -- JSON object of string to string
  description             TEXT NOT NULL,
  code_sha256             TEXT NOT NULL,
  code_size               INTEGER NOT NULL,
  last_modified           TEXT NOT NULL,
  revision                INTEGER NOT NULL,  -- the revision of $LATEST it was published from
  provisioned_concurrency INTEGER NOT NULL,
  ephemeral_storage_mb    INTEGER NOT NULL,
  network                 TEXT NOT NULL,
  role                    TEXT NOT NULL,
  revision_id             TEXT NOT NULL,
  PRIMARY KEY (function, version)
) WITHOUT ROWID;
CREATE TABLE aliases (
  function           TEXT NOT NULL,
  name               TEXT NOT NULL,
  function_version   TEXT NOT NULL,
  description        TEXT NOT NULL,
  additional_weights TEXT NOT NULL,  -- JSON object of version to weight
  revision_id        TEXT NOT NULL,
  PRIMARY KEY (function, name)
) WITHOUT ROWID;
CREATE TABLE provisioned_configs (
  function      TEXT NOT NULL,
  qualifier     TEXT NOT NULL,
  requested     INTEGER NOT NULL,
  last_modified TEXT NOT NULL,
  PRIMARY KEY (function, qualifier)
) WITHOUT ROWID;
CREATE TABLE credentials (
  access_key_id TEXT PRIMARY KEY NOT NULL,
  sealed_secret TEXT NOT NULL,
  description   TEXT NOT NULL,
  created       TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
-- The functions a function may invoke from inside its sandbox: a JSON array of "name" or
-- "name:qualifier" entries.
ALTER TABLE functions ADD COLUMN invokes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE versions ADD COLUMN invokes TEXT NOT NULL DEFAULT '[]';
)sql",
    R"sql(
-- API keys of the API gateway: only the SHA-256 of a key's value is kept.
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY NOT NULL,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT NOT NULL,
  enabled      INTEGER NOT NULL,
  value_sha256 TEXT NOT NULL UNIQUE,
  created      TEXT NOT NULL,
  last_updated TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE usage_plans (
  id             TEXT PRIMARY KEY NOT NULL,
  name           TEXT NOT NULL UNIQUE,
  description    TEXT NOT NULL,
  throttle_rate  REAL,     -- NULL: no throttle of the plan's own
  throttle_burst INTEGER,
  quota_limit    INTEGER,  -- NULL: no quota
  quota_period   TEXT NOT NULL,
  quota_offset   INTEGER NOT NULL,
  api_stages     TEXT NOT NULL,  -- JSON array of {"api_id", "stage"}
  created        TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE usage_plan_keys (
  plan_id TEXT NOT NULL,
  key_id  TEXT NOT NULL,
  PRIMARY KEY (plan_id, key_id)
) WITHOUT ROWID;
CREATE INDEX usage_plan_keys_by_key ON usage_plan_keys (key_id);
-- Requests per (plan, key, UTC day), added to in batches by the API gateway.
CREATE TABLE api_key_usage (
  plan_id TEXT NOT NULL,
  key_id  TEXT NOT NULL,
  day     TEXT NOT NULL,  -- YYYY-MM-DD
  count   INTEGER NOT NULL,
  PRIMARY KEY (plan_id, key_id, day)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE event_invoke_configs (
  function               TEXT NOT NULL,
  qualifier              TEXT NOT NULL,
  maximum_retry_attempts INTEGER,  -- NULL: the default
  maximum_event_age_s    INTEGER,  -- NULL: the default
  on_success             TEXT NOT NULL,
  on_failure             TEXT NOT NULL,
  last_modified_ms       INTEGER NOT NULL,
  PRIMARY KEY (function, qualifier)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE schedules (
  name          TEXT PRIMARY KEY NOT NULL,
  expression    TEXT NOT NULL,
  function      TEXT NOT NULL,
  qualifier     TEXT NOT NULL,
  input         TEXT,  -- NULL: the scheduled event
  description   TEXT NOT NULL,
  enabled       INTEGER NOT NULL,
  source        TEXT NOT NULL,  -- 'api' or 'manifest'
  anchor_ms     INTEGER NOT NULL,
  last_fired_ms INTEGER NOT NULL,  -- 0: never
  created       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX schedules_by_function ON schedules (function);
CREATE TABLE topics (
  name    TEXT PRIMARY KEY NOT NULL,
  created TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE subscriptions (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order
  id        TEXT NOT NULL UNIQUE,
  topic     TEXT NOT NULL,
  function  TEXT NOT NULL,
  qualifier TEXT NOT NULL,
  created   TEXT NOT NULL
);
CREATE INDEX subscriptions_by_topic ON subscriptions (topic);
CREATE INDEX subscriptions_by_function ON subscriptions (function);
)sql",
};

using sqlite::DbPtr;
using sqlite::StmtPtr;

constexpr std::string_view kLabel = "metadata store";

Error sqliteError(sqlite3* db, std::string_view what) {
  return sqlite::sqliteError(db, kLabel, what);
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

std::string invokesToJson(const std::vector<std::string>& invokes) {
  boost::json::array array;
  for (const auto& entry : invokes) array.emplace_back(entry);
  return boost::json::serialize(array);
}

Result<std::vector<std::string>> invokesFromJson(std::string_view text, std::string_view function) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  std::vector<std::string> invokes;
  if (!ec && v.is_array()) {
    for (const auto& entry : v.get_array()) {
      if (!entry.is_string()) break;
      invokes.emplace_back(entry.get_string());
    }
    if (invokes.size() == v.get_array().size()) return invokes;
  }
  return Error::internal(fmt::format(
      "metadata store: invokes of function \"{}\" is not a JSON array of strings; the database "
      "is corrupt — redeploy the function to rewrite it",
      function));
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

std::string weightsToJson(const std::map<std::string, double>& weights) {
  boost::json::object obj;
  for (const auto& [version, weight] : weights) obj[version] = weight;
  return boost::json::serialize(obj);
}

Result<std::map<std::string, double>> weightsFromJson(std::string_view text,
                                                      std::string_view function,
                                                      std::string_view alias) {
  auto corrupt = [&] {
    return Error::internal(fmt::format(
        "metadata store: routing weights of alias \"{}\" of function \"{}\" are not a JSON "
        "object of numbers; the database is corrupt — update the alias to rewrite them",
        alias, function));
  };
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return corrupt();
  std::map<std::string, double> weights;
  for (const auto& [k, val] : v.get_object()) {
    if (!val.is_number()) return corrupt();
    weights.emplace(std::string(k), val.to_number<double>(ec));
    if (ec) return corrupt();
  }
  return weights;
}

// A published version's number: decimal digits without a leading zero. nullopt for anything else
// (including "$LATEST").
std::optional<int64_t> versionNumber(std::string_view version) {
  if (version.empty() || version.size() > 18 || version[0] == '0') return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), n);
  if (ec != std::errc() || end != version.data() + version.size()) return std::nullopt;
  return n;
}

// Whether publishing `latest` would repeat `version`: same code and configuration. Descriptions
// are not configuration (a version's is the one given at publish), and reserved concurrency is
// the function's, not a version's.
bool sameCodeAndConfig(const FunctionRecord& latest, const FunctionRecord& version) {
  return latest.code_sha256 == version.code_sha256 && latest.code_size == version.code_size &&
         latest.runtime == version.runtime && latest.handler == version.handler &&
         latest.memory_mb == version.memory_mb && latest.timeout_s == version.timeout_s &&
         latest.environment == version.environment &&
         latest.provisioned_concurrency == version.provisioned_concurrency &&
         latest.ephemeral_storage_mb == version.ephemeral_storage_mb &&
         latest.network == version.network && latest.role == version.role &&
         latest.invokes == version.invokes;
}

Error functionNotFound(std::string_view name) {
  return Error::notFound(fmt::format(
      "function \"{}\" does not exist; list functions to see the deployed names", name));
}

Error versionNotFound(std::string_view function, std::string_view version) {
  return Error::notFound(fmt::format(
      "version \"{}\" of function \"{}\" does not exist; list the function's versions to see "
      "the published ones",
      version, function));
}

Error aliasNotFound(std::string_view function, std::string_view alias) {
  return Error::notFound(
      fmt::format("alias \"{}\" of function \"{}\" does not exist; list the function's aliases "
                  "to see them",
                  alias, function));
}

Error revisionMismatch(std::string_view what, std::string_view stored, std::string_view expected) {
  return Error{ErrorCode::kFailedPrecondition,
               fmt::format("{} has revision id {}, not the expected {}: it changed since it was "
                           "read; read it again and retry",
                           what, stored, expected)};
}

std::string apiStagesToJson(const std::vector<ApiStageRef>& stages) {
  boost::json::array arr;
  for (const auto& s : stages)
    arr.push_back(boost::json::object{{"api_id", s.api_id}, {"stage", s.stage}});
  return boost::json::serialize(arr);
}

Result<std::vector<ApiStageRef>> apiStagesFromJson(std::string_view text, std::string_view plan) {
  auto corrupt = [&] {
    return Error::internal(fmt::format(
        "metadata store: API stages of usage plan \"{}\" are not a JSON array of {{api_id, "
        "stage}}; the database is corrupt — delete and recreate the plan",
        plan));
  };
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_array()) return corrupt();
  std::vector<ApiStageRef> stages;
  for (const auto& item : v.get_array()) {
    const auto* o = item.if_object();
    const auto* api = o ? o->if_contains("api_id") : nullptr;
    const auto* stage = o ? o->if_contains("stage") : nullptr;
    if (!api || !stage || !api->is_string() || !stage->is_string()) return corrupt();
    stages.push_back({std::string(api->get_string()), std::string(stage->get_string())});
  }
  return stages;
}

Status execOn(sqlite3* db, const std::string& sql, std::string_view what) {
  return sqlite::exec(db, sql, kLabel, what);
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(DbPtr db) : db_(std::move(db)) {}

  // --- $LATEST ---------------------------------------------------------------------------------

  Result<FunctionRecord> putFunction(FunctionRecord record) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<FunctionRecord> {
      GUST_ASSIGN_OR_RETURN(std::optional<FunctionRecord> previous, readLatest(record.name));
      record.revision = previous ? previous->revision + 1 : 1;
      if (previous && record.role.empty()) record.role = previous->role;
      return writeLatest(std::move(record));
    });
  }

  Result<FunctionRecord> createFunction(FunctionRecord record) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<FunctionRecord> {
      GUST_ASSIGN_OR_RETURN(std::optional<FunctionRecord> previous, readLatest(record.name));
      if (previous)
        return Error{ErrorCode::kAlreadyExists,
                     fmt::format("function \"{}\" already exists; update its code or "
                                 "configuration instead, or choose another name",
                                 record.name)};
      record.revision = 1;
      return writeLatest(std::move(record));
    });
  }

  Result<FunctionRecord> updateFunction(FunctionRecord record,
                                        std::string_view expected_revision_id) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<FunctionRecord> {
      GUST_ASSIGN_OR_RETURN(std::optional<FunctionRecord> previous, readLatest(record.name));
      if (!previous) return functionNotFound(record.name);
      if (!expected_revision_id.empty() && expected_revision_id != previous->revision_id)
        return revisionMismatch(fmt::format("function \"{}\"", record.name), previous->revision_id,
                                expected_revision_id);
      record.revision = previous->revision + 1;
      return writeLatest(std::move(record));
    });
  }

  Result<FunctionRecord> getFunction(std::string_view name) override {
    std::lock_guard lock(mu_);
    return requireLatest(name);
  }

  Result<std::vector<FunctionRecord>> listFunctions() override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kLatestSelect) + " ORDER BY name"));
    return readRecords(stmt.get(), "cannot list functions");
  }

  Status deleteFunction(std::string_view name) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
      GUST_TRY(run("DELETE FROM functions WHERE name = ?1", {name}, "cannot delete function"));
      if (sqlite3_changes(db_.get()) == 0) return functionNotFound(name);
      GUST_TRY(run("DELETE FROM versions WHERE function = ?1", {name},
                   "cannot delete the function's versions"));
      GUST_TRY(run("DELETE FROM aliases WHERE function = ?1", {name},
                   "cannot delete the function's aliases"));
      GUST_TRY(run("DELETE FROM provisioned_configs WHERE function = ?1", {name},
                   "cannot delete the function's provisioned concurrency"));
      GUST_TRY(run("DELETE FROM schedules WHERE function = ?1", {name},
                   "cannot delete the function's schedules"));
      GUST_TRY(run("DELETE FROM subscriptions WHERE function = ?1", {name},
                   "cannot delete the function's topic subscriptions"));
      return run("DELETE FROM event_invoke_configs WHERE function = ?1", {name},
                 "cannot delete the function's event invoke configs");
    });
  }

  // --- Versions --------------------------------------------------------------------------------

  Result<FunctionRecord> publishVersion(std::string_view name, std::string description,
                                        std::string_view expected_code_sha256,
                                        std::string_view expected_revision_id) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<FunctionRecord> {
      GUST_ASSIGN_OR_RETURN(FunctionRecord latest, requireLatest(name));
      if (!expected_code_sha256.empty() && expected_code_sha256 != latest.code_sha256)
        return Error{ErrorCode::kFailedPrecondition,
                     fmt::format("function \"{}\" has code {}, not the expected {}: its code "
                                 "changed since it was read; read it again and retry",
                                 name, latest.code_sha256, expected_code_sha256)};
      if (!expected_revision_id.empty() && expected_revision_id != latest.revision_id)
        return revisionMismatch(fmt::format("function \"{}\"", name), latest.revision_id,
                                expected_revision_id);

      GUST_ASSIGN_OR_RETURN(StmtPtr newest,
                            prepare(std::string(kVersionSelect) +
                                    " WHERE v.function = ?1 ORDER BY v.version DESC LIMIT 1"));
      bindText(newest.get(), 1, name);
      GUST_ASSIGN_OR_RETURN(std::vector<FunctionRecord> found,
                            readRecords(newest.get(), "cannot read the newest version"));
      if (!found.empty() && sameCodeAndConfig(latest, found.front()))
        return std::move(found.front());

      GUST_ASSIGN_OR_RETURN(int64_t last, lastVersion(name));
      int64_t number = last + 1;
      std::string version_description = description.empty() ? latest.description : description;
      std::string now = nowIso8601();
      std::string revision_id = uuid4();
      GUST_ASSIGN_OR_RETURN(
          StmtPtr insert,
          prepare("INSERT INTO versions (function, version, runtime, handler, memory_mb, "
                  "timeout_s, environment, description, code_sha256, code_size, last_modified, "
                  "revision, provisioned_concurrency, ephemeral_storage_mb, network, role, "
                  "revision_id, invokes) "
                  "SELECT name, ?2, runtime, handler, memory_mb, timeout_s, environment, ?3, "
                  "code_sha256, code_size, ?4, revision, provisioned_concurrency, "
                  "ephemeral_storage_mb, network, role, ?5, invokes FROM functions "
                  "WHERE name = ?1"));
      bindText(insert.get(), 1, name);
      sqlite3_bind_int64(insert.get(), 2, number);
      bindText(insert.get(), 3, version_description);
      bindText(insert.get(), 4, now);
      bindText(insert.get(), 5, revision_id);
      GUST_TRY(stepDone(insert.get(), "cannot publish version"));
      GUST_ASSIGN_OR_RETURN(StmtPtr bump,
                            prepare("UPDATE functions SET last_version = ?2 WHERE name = ?1"));
      bindText(bump.get(), 1, name);
      sqlite3_bind_int64(bump.get(), 2, number);
      GUST_TRY(stepDone(bump.get(), "cannot record the published version number"));

      FunctionRecord published = std::move(latest);
      published.version = std::to_string(number);
      published.description = std::move(version_description);
      published.last_modified = std::move(now);
      published.revision_id = std::move(revision_id);
      return published;
    });
  }

  Result<FunctionRecord> getVersion(std::string_view name, std::string_view version) override {
    std::lock_guard lock(mu_);
    if (version == kLatest) return requireLatest(name);
    GUST_ASSIGN_OR_RETURN(std::optional<FunctionRecord> found, readVersion(name, version));
    if (found) return std::move(*found);
    GUST_TRY(requireLatest(name));
    return versionNotFound(name, version);
  }

  Result<std::vector<FunctionRecord>> listVersions(std::string_view name) override {
    std::lock_guard lock(mu_);
    // One transaction, so $LATEST and the versions are read from the same snapshot.
    return inTransaction([&]() -> Result<std::vector<FunctionRecord>> {
      GUST_ASSIGN_OR_RETURN(FunctionRecord latest, requireLatest(name));
      GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kVersionSelect) +
                                                  " WHERE v.function = ?1 ORDER BY v.version"));
      bindText(stmt.get(), 1, name);
      GUST_ASSIGN_OR_RETURN(std::vector<FunctionRecord> versions,
                            readRecords(stmt.get(), "cannot list versions"));
      versions.insert(versions.begin(), std::move(latest));
      return versions;
    });
  }

  Status deleteVersion(std::string_view name, std::string_view version) override {
    std::lock_guard lock(mu_);
    if (version == kLatest)
      return Error::invalid(fmt::format(
          "version $LATEST of function \"{}\" cannot be deleted on its own; delete the function "
          "instead",
          name));
    return inTransaction([&]() -> Status {
      GUST_ASSIGN_OR_RETURN(std::optional<FunctionRecord> found, readVersion(name, version));
      if (!found) {
        GUST_TRY(requireLatest(name));
        return versionNotFound(name, version);
      }
      GUST_ASSIGN_OR_RETURN(std::vector<AliasRecord> aliases, readAliases(name));
      for (const AliasRecord& alias : aliases) {
        if (alias.function_version == found->version ||
            alias.additional_weights.contains(found->version))
          return Error{ErrorCode::kAlreadyExists,
                       fmt::format("version {} of function \"{}\" is in use: alias \"{}\" routes "
                                   "traffic to it; point the alias at another version or delete "
                                   "it first",
                                   found->version, name, alias.name)};
      }
      GUST_TRY(run("DELETE FROM versions WHERE function = ?1 AND version = ?2",
                   {name, found->version}, "cannot delete version"));
      // Configs of a version that no longer exists would never be used.
      GUST_TRY(run("DELETE FROM provisioned_configs WHERE function = ?1 AND qualifier = ?2",
                   {name, found->version}, "cannot delete the version's provisioned concurrency"));
      return run("DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
                 {name, found->version}, "cannot delete the version's event invoke config");
    });
  }

  // --- Aliases ---------------------------------------------------------------------------------

  Result<AliasRecord> createAlias(AliasRecord alias) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<AliasRecord> {
      GUST_TRY(checkAliasTargets(alias));
      GUST_ASSIGN_OR_RETURN(std::optional<AliasRecord> existing,
                            readAlias(alias.function, alias.name));
      if (existing)
        return Error{ErrorCode::kAlreadyExists,
                     fmt::format("alias \"{}\" of function \"{}\" already exists; update it "
                                 "instead, or choose another name",
                                 alias.name, alias.function)};
      return writeAlias(std::move(alias));
    });
  }

  Result<AliasRecord> updateAlias(AliasRecord alias,
                                  std::string_view expected_revision_id) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<AliasRecord> {
      GUST_TRY(checkAliasTargets(alias));
      GUST_ASSIGN_OR_RETURN(std::optional<AliasRecord> existing,
                            readAlias(alias.function, alias.name));
      if (!existing) return aliasNotFound(alias.function, alias.name);
      if (!expected_revision_id.empty() && expected_revision_id != existing->revision_id)
        return revisionMismatch(
            fmt::format("alias \"{}\" of function \"{}\"", alias.name, alias.function),
            existing->revision_id, expected_revision_id);
      return writeAlias(std::move(alias));
    });
  }

  Result<AliasRecord> getAlias(std::string_view function, std::string_view name) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(std::optional<AliasRecord> alias, readAlias(function, name));
    if (alias) return std::move(*alias);
    GUST_TRY(requireLatest(function));
    return aliasNotFound(function, name);
  }

  Result<std::vector<AliasRecord>> listAliases(std::string_view function) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<std::vector<AliasRecord>> {
      GUST_TRY(requireLatest(function));
      return readAliases(function);
    });
  }

  Status deleteAlias(std::string_view function, std::string_view name) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
      GUST_TRY(run("DELETE FROM aliases WHERE function = ?1 AND name = ?2", {function, name},
                   "cannot delete alias"));
      if (sqlite3_changes(db_.get()) == 0) {
        GUST_TRY(requireLatest(function));
        return aliasNotFound(function, name);
      }
      // Configs of an alias that no longer exists would never be used.
      GUST_TRY(run("DELETE FROM provisioned_configs WHERE function = ?1 AND qualifier = ?2",
                   {function, name}, "cannot delete the alias's provisioned concurrency"));
      return run("DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
                 {function, name}, "cannot delete the alias's event invoke config");
    });
  }

  // --- Provisioned concurrency -----------------------------------------------------------------

  Result<ProvisionedConfigRecord> putProvisionedConfig(ProvisionedConfigRecord config) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<ProvisionedConfigRecord> {
      GUST_TRY(requireLatest(config.function));
      config.last_modified = nowIso8601();
      GUST_ASSIGN_OR_RETURN(
          StmtPtr stmt,
          prepare("INSERT OR REPLACE INTO provisioned_configs (function, qualifier, requested, "
                  "last_modified) VALUES (?1, ?2, ?3, ?4)"));
      bindText(stmt.get(), 1, config.function);
      bindText(stmt.get(), 2, config.qualifier);
      sqlite3_bind_int(stmt.get(), 3, config.requested);
      bindText(stmt.get(), 4, config.last_modified);
      GUST_TRY(stepDone(stmt.get(), "cannot write provisioned concurrency"));
      return config;
    });
  }

  Result<ProvisionedConfigRecord> getProvisionedConfig(std::string_view function,
                                                       std::string_view qualifier) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kProvisionedSelect) +
                                                " WHERE function = ?1 AND qualifier = ?2"));
    bindText(stmt.get(), 1, function);
    bindText(stmt.get(), 2, qualifier);
    GUST_ASSIGN_OR_RETURN(std::vector<ProvisionedConfigRecord> found, readProvisioned(stmt.get()));
    if (found.empty())
      return Error::notFound(
          fmt::format("function \"{}\" has no provisioned concurrency configured for \"{}\"",
                      function, qualifier));
    return std::move(found.front());
  }

  Result<std::vector<ProvisionedConfigRecord>> listProvisionedConfigs(
      std::string_view function) override {
    std::lock_guard lock(mu_);
    if (function.empty()) {
      GUST_ASSIGN_OR_RETURN(
          StmtPtr stmt, prepare(std::string(kProvisionedSelect) + " ORDER BY function, qualifier"));
      return readProvisioned(stmt.get());
    }
    return inTransaction([&]() -> Result<std::vector<ProvisionedConfigRecord>> {
      GUST_TRY(requireLatest(function));
      GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kProvisionedSelect) +
                                                  " WHERE function = ?1 ORDER BY qualifier"));
      bindText(stmt.get(), 1, function);
      return readProvisioned(stmt.get());
    });
  }

  Status deleteProvisionedConfig(std::string_view function, std::string_view qualifier) override {
    std::lock_guard lock(mu_);
    GUST_TRY(run("DELETE FROM provisioned_configs WHERE function = ?1 AND qualifier = ?2",
                 {function, qualifier}, "cannot delete provisioned concurrency"));
    if (sqlite3_changes(db_.get()) == 0)
      return Error::notFound(
          fmt::format("function \"{}\" has no provisioned concurrency configured for \"{}\"",
                      function, qualifier));
    return okStatus();
  }

  // --- Event invoke configs --------------------------------------------------------------------

  Result<EventInvokeConfigRecord> putEventInvokeConfig(EventInvokeConfigRecord config) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<EventInvokeConfigRecord> {
      GUST_TRY(requireLatest(config.function));
      config.last_modified_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
      GUST_ASSIGN_OR_RETURN(
          StmtPtr stmt,
          prepare("INSERT OR REPLACE INTO event_invoke_configs (function, qualifier, "
                  "maximum_retry_attempts, maximum_event_age_s, on_success, on_failure, "
                  "last_modified_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      sqlite3_stmt* s = stmt.get();
      bindText(s, 1, config.function);
      bindText(s, 2, config.qualifier);
      bindOptionalInt(s, 3, config.maximum_retry_attempts);
      bindOptionalInt(s, 4, config.maximum_event_age_s);
      bindText(s, 5, config.on_success);
      bindText(s, 6, config.on_failure);
      sqlite3_bind_int64(s, 7, config.last_modified_ms);
      GUST_TRY(stepDone(s, "cannot write the event invoke config"));
      return config;
    });
  }

  Result<EventInvokeConfigRecord> getEventInvokeConfig(std::string_view function,
                                                       std::string_view qualifier) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kEventInvokeConfigSelect) +
                                                " WHERE function = ?1 AND qualifier = ?2"));
    bindText(stmt.get(), 1, function);
    bindText(stmt.get(), 2, qualifier);
    GUST_ASSIGN_OR_RETURN(
        std::vector<EventInvokeConfigRecord> found,
        readRows(stmt.get(), &rowToEventInvokeConfig, "cannot read the event invoke config"));
    if (found.empty()) return eventInvokeConfigNotFound(function, qualifier);
    return std::move(found.front());
  }

  Result<std::vector<EventInvokeConfigRecord>> listEventInvokeConfigs(
      std::string_view function) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<std::vector<EventInvokeConfigRecord>> {
      GUST_TRY(requireLatest(function));
      GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kEventInvokeConfigSelect) +
                                                  " WHERE function = ?1 ORDER BY qualifier"));
      bindText(stmt.get(), 1, function);
      return readRows(stmt.get(), &rowToEventInvokeConfig, "cannot list event invoke configs");
    });
  }

  Status deleteEventInvokeConfig(std::string_view function, std::string_view qualifier) override {
    std::lock_guard lock(mu_);
    GUST_TRY(run("DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
                 {function, qualifier}, "cannot delete the event invoke config"));
    if (sqlite3_changes(db_.get()) == 0) return eventInvokeConfigNotFound(function, qualifier);
    return okStatus();
  }

  // --- Credentials -----------------------------------------------------------------------------

  Status putCredential(CredentialRecord credential) override {
    std::lock_guard lock(mu_);
    if (credential.created.empty()) credential.created = nowIso8601();
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare("INSERT INTO credentials (access_key_id, sealed_secret, description, created) "
                "VALUES (?1, ?2, ?3, ?4)"));
    bindText(stmt.get(), 1, credential.access_key_id);
    bindText(stmt.get(), 2, credential.sealed_secret);
    bindText(stmt.get(), 3, credential.description);
    bindText(stmt.get(), 4, credential.created);
    if (sqlite3_step(stmt.get()) == SQLITE_DONE) return okStatus();
    if (sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_PRIMARYKEY)
      return Error{ErrorCode::kAlreadyExists,
                   fmt::format("access key \"{}\" already exists; choose another id",
                               credential.access_key_id)};
    return sqliteError(db_.get(), "cannot write access key");
  }

  Result<CredentialRecord> getCredential(std::string_view access_key_id) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt,
                          prepare(std::string(kCredentialSelect) + " WHERE access_key_id = ?1"));
    bindText(stmt.get(), 1, access_key_id);
    GUST_ASSIGN_OR_RETURN(std::vector<CredentialRecord> found, readCredentials(stmt.get()));
    if (found.empty()) return credentialNotFound(access_key_id);
    return std::move(found.front());
  }

  Result<std::vector<CredentialRecord>> listCredentials() override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt,
                          prepare(std::string(kCredentialSelect) + " ORDER BY access_key_id"));
    return readCredentials(stmt.get());
  }

  Status deleteCredential(std::string_view access_key_id) override {
    std::lock_guard lock(mu_);
    GUST_TRY(run("DELETE FROM credentials WHERE access_key_id = ?1", {access_key_id},
                 "cannot delete access key"));
    if (sqlite3_changes(db_.get()) == 0) return credentialNotFound(access_key_id);
    return okStatus();
  }

  // --- API keys and usage plans ------------------------------------------------------------

  Result<ApiKeyRecord> createApiKey(ApiKeyRecord key) override {
    std::lock_guard lock(mu_);
    if (key.created.empty()) key.created = nowIso8601();
    if (key.last_updated.empty()) key.last_updated = key.created;
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare("INSERT INTO api_keys (id, name, description, enabled, value_sha256, created, "
                "last_updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    bindText(stmt.get(), 1, key.id);
    bindText(stmt.get(), 2, key.name);
    bindText(stmt.get(), 3, key.description);
    sqlite3_bind_int(stmt.get(), 4, key.enabled ? 1 : 0);
    bindText(stmt.get(), 5, key.value_sha256);
    bindText(stmt.get(), 6, key.created);
    bindText(stmt.get(), 7, key.last_updated);
    if (sqlite3_step(stmt.get()) == SQLITE_DONE) return key;
    if ((sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_CONSTRAINT)
      return Error{ErrorCode::kAlreadyExists,
                   fmt::format("an API key with the id \"{}\", the name \"{}\" or the same value "
                               "already exists; choose another name (or value)",
                               key.id, key.name)};
    return sqliteError(db_.get(), "cannot write API key");
  }

  Result<ApiKeyRecord> getApiKey(std::string_view id) override {
    std::lock_guard lock(mu_);
    return requireApiKey(id);
  }

  Result<std::vector<ApiKeyRecord>> listApiKeys() override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kApiKeySelect) + " ORDER BY name"));
    return readRows(stmt.get(), &rowToApiKey, "cannot read API keys");
  }

  Result<ApiKeyRecord> updateApiKey(ApiKeyRecord key) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<ApiKeyRecord> {
      GUST_ASSIGN_OR_RETURN(ApiKeyRecord stored, requireApiKey(key.id));
      stored.name = std::move(key.name);
      stored.description = std::move(key.description);
      stored.enabled = key.enabled;
      stored.last_updated = nowIso8601();
      GUST_ASSIGN_OR_RETURN(StmtPtr stmt,
                            prepare("UPDATE api_keys SET name = ?2, description = ?3, enabled = "
                                    "?4, last_updated = ?5 WHERE id = ?1"));
      bindText(stmt.get(), 1, stored.id);
      bindText(stmt.get(), 2, stored.name);
      bindText(stmt.get(), 3, stored.description);
      sqlite3_bind_int(stmt.get(), 4, stored.enabled ? 1 : 0);
      bindText(stmt.get(), 5, stored.last_updated);
      if (sqlite3_step(stmt.get()) == SQLITE_DONE) return stored;
      if ((sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_CONSTRAINT)
        return Error{ErrorCode::kAlreadyExists,
                     fmt::format("an API key named \"{}\" already exists; choose another name",
                                 stored.name)};
      return sqliteError(db_.get(), "cannot update API key");
    });
  }

  Status deleteApiKey(std::string_view id) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
      GUST_TRY(run("DELETE FROM api_keys WHERE id = ?1", {id}, "cannot delete API key"));
      if (sqlite3_changes(db_.get()) == 0) return apiKeyNotFound(id);
      return run("DELETE FROM usage_plan_keys WHERE key_id = ?1", {id},
                 "cannot remove the API key from its usage plans");
    });
  }

  Result<UsagePlanRecord> createUsagePlan(UsagePlanRecord plan) override {
    std::lock_guard lock(mu_);
    if (plan.created.empty()) plan.created = nowIso8601();
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare("INSERT INTO usage_plans (id, name, description, throttle_rate, throttle_burst, "
                "quota_limit, quota_period, quota_offset, api_stages, created) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
    sqlite3_stmt* s = stmt.get();
    bindText(s, 1, plan.id);
    bindText(s, 2, plan.name);
    bindText(s, 3, plan.description);
    if (plan.throttle_rate)
      sqlite3_bind_double(s, 4, *plan.throttle_rate);
    else
      sqlite3_bind_null(s, 4);
    if (plan.throttle_burst)
      sqlite3_bind_int64(s, 5, *plan.throttle_burst);
    else
      sqlite3_bind_null(s, 5);
    if (plan.quota_limit)
      sqlite3_bind_int64(s, 6, *plan.quota_limit);
    else
      sqlite3_bind_null(s, 6);
    bindText(s, 7, plan.quota_period);
    sqlite3_bind_int64(s, 8, plan.quota_offset);
    std::string stages = apiStagesToJson(plan.api_stages);
    bindText(s, 9, stages);
    bindText(s, 10, plan.created);
    if (sqlite3_step(s) == SQLITE_DONE) return plan;
    if ((sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_CONSTRAINT)
      return Error{ErrorCode::kAlreadyExists,
                   fmt::format("a usage plan named \"{}\" (or with the id \"{}\") already exists; "
                               "choose another name",
                               plan.name, plan.id)};
    return sqliteError(db_.get(), "cannot write usage plan");
  }

  Result<UsagePlanRecord> getUsagePlan(std::string_view id) override {
    std::lock_guard lock(mu_);
    return requireUsagePlan(id);
  }

  Result<std::vector<UsagePlanRecord>> listUsagePlans() override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kUsagePlanSelect) + " ORDER BY name"));
    return readRows(stmt.get(), &rowToUsagePlan, "cannot read usage plans");
  }

  Status deleteUsagePlan(std::string_view id) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
      GUST_TRY(run("DELETE FROM usage_plans WHERE id = ?1", {id}, "cannot delete usage plan"));
      if (sqlite3_changes(db_.get()) == 0) return usagePlanNotFound(id);
      GUST_TRY(run("DELETE FROM usage_plan_keys WHERE plan_id = ?1", {id},
                   "cannot delete the usage plan's keys"));
      return run("DELETE FROM api_key_usage WHERE plan_id = ?1", {id},
                 "cannot delete the usage plan's usage");
    });
  }

  Status addUsagePlanKey(std::string_view plan_id, std::string_view key_id) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
      GUST_TRY(requireUsagePlan(plan_id));
      GUST_TRY(requireApiKey(key_id));
      GUST_ASSIGN_OR_RETURN(
          StmtPtr stmt, prepare("INSERT INTO usage_plan_keys (plan_id, key_id) VALUES (?1, ?2)"));
      bindText(stmt.get(), 1, plan_id);
      bindText(stmt.get(), 2, key_id);
      if (sqlite3_step(stmt.get()) == SQLITE_DONE) return okStatus();
      if ((sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_CONSTRAINT)
        return Error{
            ErrorCode::kAlreadyExists,
            fmt::format("API key \"{}\" is already in usage plan \"{}\"", key_id, plan_id)};
      return sqliteError(db_.get(), "cannot add the API key to the usage plan");
    });
  }

  Status removeUsagePlanKey(std::string_view plan_id, std::string_view key_id) override {
    std::lock_guard lock(mu_);
    GUST_TRY(run("DELETE FROM usage_plan_keys WHERE plan_id = ?1 AND key_id = ?2",
                 {plan_id, key_id}, "cannot remove the API key from the usage plan"));
    if (sqlite3_changes(db_.get()) == 0)
      return Error::notFound(fmt::format(
          "API key \"{}\" is not in usage plan \"{}\"; list the plan's keys to see them", key_id,
          plan_id));
    return okStatus();
  }

  Result<std::vector<std::pair<std::string, std::string>>> listUsagePlanKeys(
      std::string_view plan_id) override {
    std::lock_guard lock(mu_);
    if (!plan_id.empty()) {
      GUST_TRY(requireUsagePlan(plan_id));
    }
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare(plan_id.empty()
                    ? "SELECT plan_id, key_id FROM usage_plan_keys ORDER BY plan_id, key_id"
                    : "SELECT plan_id, key_id FROM usage_plan_keys WHERE plan_id = ?1 ORDER BY "
                      "key_id"));
    if (!plan_id.empty()) bindText(stmt.get(), 1, plan_id);
    using Pair = std::pair<std::string, std::string>;
    return readRows<Pair>(
        stmt.get(),
        [](sqlite3_stmt* st) -> Result<Pair> {
          return Pair{columnText(st, 0), columnText(st, 1)};
        },
        "cannot read the keys of usage plans");
  }

  Status addUsage(const std::vector<UsageRecord>& records) override {
    if (records.empty()) return okStatus();
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
      GUST_ASSIGN_OR_RETURN(
          StmtPtr stmt,
          prepare("INSERT INTO api_key_usage (plan_id, key_id, day, count) VALUES (?1, ?2, ?3, "
                  "?4) ON CONFLICT (plan_id, key_id, day) DO UPDATE SET count = count + "
                  "excluded.count"));
      for (const UsageRecord& r : records) {
        sqlite3_reset(stmt.get());
        bindText(stmt.get(), 1, r.plan_id);
        bindText(stmt.get(), 2, r.key_id);
        bindText(stmt.get(), 3, r.date);
        sqlite3_bind_int64(stmt.get(), 4, r.count);
        GUST_TRY(stepDone(stmt.get(), "cannot write API key usage"));
      }
      return okStatus();
    });
  }

  Result<std::vector<UsageRecord>> queryUsage(std::string_view plan_id, std::string_view key_id,
                                              std::string_view from_date,
                                              std::string_view to_date) override {
    std::lock_guard lock(mu_);
    std::string sql =
        "SELECT plan_id, key_id, day, count FROM api_key_usage WHERE plan_id = ?1 AND day >= ?2 "
        "AND day <= ?3";
    if (!key_id.empty()) sql += " AND key_id = ?4";
    sql += " ORDER BY key_id, day";
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(sql));
    bindText(stmt.get(), 1, plan_id);
    bindText(stmt.get(), 2, from_date);
    bindText(stmt.get(), 3, to_date);
    if (!key_id.empty()) bindText(stmt.get(), 4, key_id);
    return readRows<UsageRecord>(
        stmt.get(),
        [](sqlite3_stmt* st) -> Result<UsageRecord> {
          return UsageRecord{columnText(st, 0), columnText(st, 1), columnText(st, 2),
                             sqlite3_column_int64(st, 3)};
        },
        "cannot read API key usage");
  }

  // --- Schedules -------------------------------------------------------------------------------

  Result<ScheduleRecord> createSchedule(ScheduleRecord schedule) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<ScheduleRecord> {
      GUST_ASSIGN_OR_RETURN(std::optional<ScheduleRecord> existing, readSchedule(schedule.name));
      if (existing)
        return Error{ErrorCode::kAlreadyExists,
                     fmt::format("schedule \"{}\" already exists; delete it first or choose "
                                 "another name",
                                 schedule.name)};
      return writeSchedule(std::move(schedule));
    });
  }

  Result<ScheduleRecord> putSchedule(ScheduleRecord schedule) override {
    std::lock_guard lock(mu_);
    return writeSchedule(std::move(schedule));
  }

  Result<ScheduleRecord> getSchedule(std::string_view name) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(std::optional<ScheduleRecord> found, readSchedule(name));
    if (!found) return scheduleNotFound(name);
    return std::move(*found);
  }

  Result<std::vector<ScheduleRecord>> listSchedules(std::string_view function) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare(std::string(kScheduleSelect) +
                (function.empty() ? " ORDER BY name" : " WHERE function = ?1 ORDER BY name")));
    if (!function.empty()) bindText(stmt.get(), 1, function);
    return readRows(stmt.get(), &rowToSchedule, "cannot list schedules");
  }

  Status deleteSchedule(std::string_view name) override {
    std::lock_guard lock(mu_);
    GUST_TRY(run("DELETE FROM schedules WHERE name = ?1", {name}, "cannot delete schedule"));
    if (sqlite3_changes(db_.get()) == 0) return scheduleNotFound(name);
    return okStatus();
  }

  Result<ScheduleRecord> setScheduleEnabled(std::string_view name, bool enabled,
                                            int64_t anchor_ms) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<ScheduleRecord> {
      GUST_ASSIGN_OR_RETURN(std::optional<ScheduleRecord> found, readSchedule(name));
      if (!found) return scheduleNotFound(name);
      if (found->enabled == enabled) return std::move(*found);
      found->enabled = enabled;
      if (enabled) found->anchor_ms = anchor_ms;
      return writeSchedule(std::move(*found));
    });
  }

  Status recordScheduleFired(std::string_view name, int64_t fired_ms) override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt,
                          prepare("UPDATE schedules SET last_fired_ms = ?2 WHERE name = ?1"));
    bindText(stmt.get(), 1, name);
    sqlite3_bind_int64(stmt.get(), 2, fired_ms);
    GUST_TRY(stepDone(stmt.get(), "cannot record that a schedule fired"));
    if (sqlite3_changes(db_.get()) == 0) return scheduleNotFound(name);
    return okStatus();
  }

  // --- Topics ----------------------------------------------------------------------------------

  Result<std::pair<TopicRecord, bool>> createTopic(std::string_view name) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<std::pair<TopicRecord, bool>> {
      GUST_ASSIGN_OR_RETURN(std::optional<TopicRecord> existing, readTopic(name));
      if (existing) return std::pair{std::move(*existing), false};
      TopicRecord topic{std::string(name), nowIso8601()};
      GUST_TRY(run("INSERT INTO topics (name, created) VALUES (?1, ?2)", {name, topic.created},
                   "cannot create topic"));
      return std::pair{std::move(topic), true};
    });
  }

  Result<TopicRecord> getTopic(std::string_view name) override {
    std::lock_guard lock(mu_);
    return requireTopic(name);
  }

  Result<std::vector<TopicRecord>> listTopics() override {
    std::lock_guard lock(mu_);
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare("SELECT name, created FROM topics ORDER BY name"));
    return readRows(stmt.get(), &rowToTopic, "cannot list topics");
  }

  Status deleteTopic(std::string_view name) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
      GUST_TRY(run("DELETE FROM topics WHERE name = ?1", {name}, "cannot delete topic"));
      if (sqlite3_changes(db_.get()) == 0) return topicNotFound(name);
      return run("DELETE FROM subscriptions WHERE topic = ?1", {name},
                 "cannot delete the topic's subscriptions");
    });
  }

  Result<SubscriptionRecord> subscribe(SubscriptionRecord subscription) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<SubscriptionRecord> {
      GUST_TRY(requireTopic(subscription.topic));
      GUST_ASSIGN_OR_RETURN(StmtPtr existing,
                            prepare(std::string(kSubscriptionSelect) +
                                    " WHERE topic = ?1 AND function = ?2 AND qualifier = ?3"));
      bindText(existing.get(), 1, subscription.topic);
      bindText(existing.get(), 2, subscription.function);
      bindText(existing.get(), 3, subscription.qualifier);
      GUST_ASSIGN_OR_RETURN(
          auto found, readRows(existing.get(), &rowToSubscription, "cannot read subscriptions"));
      if (!found.empty()) return std::move(found.front());
      subscription.id = uuid4();
      subscription.created = nowIso8601();
      GUST_TRY(
          run("INSERT INTO subscriptions (id, topic, function, qualifier, created) VALUES "
              "(?1, ?2, ?3, ?4, ?5)",
              {subscription.id, subscription.topic, subscription.function, subscription.qualifier,
               subscription.created},
              "cannot subscribe"));
      return subscription;
    });
  }

  Result<std::vector<SubscriptionRecord>> listSubscriptions(std::string_view topic) override {
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Result<std::vector<SubscriptionRecord>> {
      GUST_TRY(requireTopic(topic));
      GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kSubscriptionSelect) +
                                                  " WHERE topic = ?1 ORDER BY seq"));
      bindText(stmt.get(), 1, topic);
      return readRows(stmt.get(), &rowToSubscription, "cannot list subscriptions");
    });
  }

  Status unsubscribe(std::string_view topic, std::string_view id) override {
    std::lock_guard lock(mu_);
    GUST_TRY(run("DELETE FROM subscriptions WHERE topic = ?1 AND id = ?2", {topic, id},
                 "cannot unsubscribe"));
    if (sqlite3_changes(db_.get()) == 0)
      return Error::notFound(fmt::format(
          "topic \"{}\" has no subscription \"{}\"; list the topic's subscriptions to see them",
          topic, id));
    return okStatus();
  }

  // --- Logs ------------------------------------------------------------------------------------

  Status appendLogs(std::vector<LogRecord> records) override {
    if (records.empty()) return okStatus();
    std::lock_guard lock(mu_);
    return inTransaction([&]() -> Status {
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
        GUST_TRY(stepDone(stmt.get(), "cannot write logs"));
      }
      return okStatus();
    });
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
  static constexpr std::string_view kLatest = "$LATEST";
  // The columns rowToRecord reads, for $LATEST and for published versions (which take the
  // function's reserved concurrency).
  static constexpr std::string_view kLatestSelect =
      "SELECT name, runtime, handler, memory_mb, timeout_s, environment, description, "
      "code_sha256, code_size, last_modified, revision, reserved_concurrency, "
      "provisioned_concurrency, ephemeral_storage_mb, network, role, revision_id, '$LATEST', "
      "invokes FROM functions";
  static constexpr std::string_view kVersionSelect =
      "SELECT v.function, v.runtime, v.handler, v.memory_mb, v.timeout_s, v.environment, "
      "v.description, v.code_sha256, v.code_size, v.last_modified, v.revision, "
      "f.reserved_concurrency, v.provisioned_concurrency, v.ephemeral_storage_mb, v.network, "
      "v.role, v.revision_id, v.version, v.invokes "
      "FROM versions v JOIN functions f ON f.name = v.function";
  static constexpr std::string_view kAliasSelect =
      "SELECT function, name, function_version, description, additional_weights, revision_id "
      "FROM aliases";
  static constexpr std::string_view kProvisionedSelect =
      "SELECT function, qualifier, requested, last_modified FROM provisioned_configs";
  static constexpr std::string_view kEventInvokeConfigSelect =
      "SELECT function, qualifier, maximum_retry_attempts, maximum_event_age_s, on_success, "
      "on_failure, last_modified_ms FROM event_invoke_configs";
  static constexpr std::string_view kCredentialSelect =
      "SELECT access_key_id, sealed_secret, description, created FROM credentials";

  static constexpr std::string_view kApiKeySelect =
      "SELECT id, name, description, enabled, value_sha256, created, last_updated FROM api_keys";
  static constexpr std::string_view kUsagePlanSelect =
      "SELECT id, name, description, throttle_rate, throttle_burst, quota_limit, quota_period, "
      "quota_offset, api_stages, created FROM usage_plans";

  static Error apiKeyNotFound(std::string_view id) {
    return Error::notFound(fmt::format(
        "API key \"{}\" does not exist; list the API keys to see the existing ones", id));
  }

  static Error usagePlanNotFound(std::string_view id) {
    return Error::notFound(fmt::format(
        "usage plan \"{}\" does not exist; list the usage plans to see the existing ones", id));
  }

  static Result<ApiKeyRecord> rowToApiKey(sqlite3_stmt* stmt) {
    ApiKeyRecord k;
    k.id = columnText(stmt, 0);
    k.name = columnText(stmt, 1);
    k.description = columnText(stmt, 2);
    k.enabled = sqlite3_column_int(stmt, 3) != 0;
    k.value_sha256 = columnText(stmt, 4);
    k.created = columnText(stmt, 5);
    k.last_updated = columnText(stmt, 6);
    return k;
  }

  static Result<UsagePlanRecord> rowToUsagePlan(sqlite3_stmt* stmt) {
    UsagePlanRecord p;
    p.id = columnText(stmt, 0);
    p.name = columnText(stmt, 1);
    p.description = columnText(stmt, 2);
    if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
      p.throttle_rate = sqlite3_column_double(stmt, 3);
    if (sqlite3_column_type(stmt, 4) != SQLITE_NULL)
      p.throttle_burst = sqlite3_column_int64(stmt, 4);
    if (sqlite3_column_type(stmt, 5) != SQLITE_NULL) p.quota_limit = sqlite3_column_int64(stmt, 5);
    p.quota_period = columnText(stmt, 6);
    p.quota_offset = sqlite3_column_int64(stmt, 7);
    GUST_ASSIGN_OR_RETURN(p.api_stages, apiStagesFromJson(columnText(stmt, 8), p.id));
    p.created = columnText(stmt, 9);
    return p;
  }

  Result<ApiKeyRecord> requireApiKey(std::string_view id) {
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kApiKeySelect) + " WHERE id = ?1"));
    bindText(stmt.get(), 1, id);
    GUST_ASSIGN_OR_RETURN(auto found, readRows(stmt.get(), &rowToApiKey, "cannot read API key"));
    if (found.empty()) return apiKeyNotFound(id);
    return std::move(found.front());
  }

  Result<UsagePlanRecord> requireUsagePlan(std::string_view id) {
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kUsagePlanSelect) + " WHERE id = ?1"));
    bindText(stmt.get(), 1, id);
    GUST_ASSIGN_OR_RETURN(auto found,
                          readRows(stmt.get(), &rowToUsagePlan, "cannot read usage plan"));
    if (found.empty()) return usagePlanNotFound(id);
    return std::move(found.front());
  }

  static constexpr std::string_view kScheduleSelect =
      "SELECT name, expression, function, qualifier, input, description, enabled, source, "
      "anchor_ms, last_fired_ms, created FROM schedules";
  static constexpr std::string_view kSubscriptionSelect =
      "SELECT id, topic, function, qualifier, created FROM subscriptions";

  static Error scheduleNotFound(std::string_view name) {
    return Error::notFound(fmt::format(
        "schedule \"{}\" does not exist; list schedules to see the existing ones", name));
  }

  static Error topicNotFound(std::string_view name) {
    return Error::notFound(
        fmt::format("topic \"{}\" does not exist; create it first or list topics", name));
  }

  static Result<ScheduleRecord> rowToSchedule(sqlite3_stmt* stmt) {
    ScheduleRecord r;
    r.name = columnText(stmt, 0);
    r.expression = columnText(stmt, 1);
    r.function = columnText(stmt, 2);
    r.qualifier = columnText(stmt, 3);
    if (sqlite3_column_type(stmt, 4) != SQLITE_NULL) r.input = columnText(stmt, 4);
    r.description = columnText(stmt, 5);
    r.enabled = sqlite3_column_int(stmt, 6) != 0;
    r.source = columnText(stmt, 7);
    r.anchor_ms = sqlite3_column_int64(stmt, 8);
    r.last_fired_ms = sqlite3_column_int64(stmt, 9);
    r.created = columnText(stmt, 10);
    return r;
  }

  Result<std::optional<ScheduleRecord>> readSchedule(std::string_view name) {
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kScheduleSelect) + " WHERE name = ?1"));
    bindText(stmt.get(), 1, name);
    GUST_ASSIGN_OR_RETURN(auto found, readRows(stmt.get(), &rowToSchedule, "cannot read schedule"));
    if (found.empty()) return std::optional<ScheduleRecord>();
    return std::optional<ScheduleRecord>(std::move(found.front()));
  }

  Result<ScheduleRecord> writeSchedule(ScheduleRecord r) {
    if (r.created.empty()) r.created = nowIso8601();
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare("INSERT OR REPLACE INTO schedules (name, expression, function, qualifier, input, "
                "description, enabled, source, anchor_ms, last_fired_ms, created) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
    sqlite3_stmt* s = stmt.get();
    bindText(s, 1, r.name);
    bindText(s, 2, r.expression);
    bindText(s, 3, r.function);
    bindText(s, 4, r.qualifier);
    if (r.input)
      bindText(s, 5, *r.input);
    else
      sqlite3_bind_null(s, 5);
    bindText(s, 6, r.description);
    sqlite3_bind_int(s, 7, r.enabled ? 1 : 0);
    bindText(s, 8, r.source);
    sqlite3_bind_int64(s, 9, r.anchor_ms);
    sqlite3_bind_int64(s, 10, r.last_fired_ms);
    bindText(s, 11, r.created);
    GUST_TRY(stepDone(s, "cannot write schedule"));
    return r;
  }

  static Result<TopicRecord> rowToTopic(sqlite3_stmt* stmt) {
    return TopicRecord{columnText(stmt, 0), columnText(stmt, 1)};
  }

  Result<std::optional<TopicRecord>> readTopic(std::string_view name) {
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt,
                          prepare("SELECT name, created FROM topics WHERE name = ?1"));
    bindText(stmt.get(), 1, name);
    GUST_ASSIGN_OR_RETURN(auto found, readRows(stmt.get(), &rowToTopic, "cannot read topic"));
    if (found.empty()) return std::optional<TopicRecord>();
    return std::optional<TopicRecord>(std::move(found.front()));
  }

  Result<TopicRecord> requireTopic(std::string_view name) {
    GUST_ASSIGN_OR_RETURN(std::optional<TopicRecord> found, readTopic(name));
    if (!found) return topicNotFound(name);
    return std::move(*found);
  }

  static Result<SubscriptionRecord> rowToSubscription(sqlite3_stmt* stmt) {
    return SubscriptionRecord{columnText(stmt, 0), columnText(stmt, 1), columnText(stmt, 2),
                              columnText(stmt, 3), columnText(stmt, 4)};
  }

  static void bindText(sqlite3_stmt* stmt, int i, std::string_view s) {
    sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }

  static void bindOptionalInt(sqlite3_stmt* stmt, int i, std::optional<int> v) {
    if (v)
      sqlite3_bind_int(stmt, i, *v);
    else
      sqlite3_bind_null(stmt, i);
  }

  static std::optional<int> columnOptionalInt(sqlite3_stmt* stmt, int i) {
    if (sqlite3_column_type(stmt, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int(stmt, i);
  }

  static Error eventInvokeConfigNotFound(std::string_view function, std::string_view qualifier) {
    return Error::notFound(fmt::format(
        "The function {} doesn't have an EventInvokeConfig for qualifier {}; put one first",
        function, qualifier));
  }

  static Result<EventInvokeConfigRecord> rowToEventInvokeConfig(sqlite3_stmt* stmt) {
    EventInvokeConfigRecord c;
    c.function = columnText(stmt, 0);
    c.qualifier = columnText(stmt, 1);
    c.maximum_retry_attempts = columnOptionalInt(stmt, 2);
    c.maximum_event_age_s = columnOptionalInt(stmt, 3);
    c.on_success = columnText(stmt, 4);
    c.on_failure = columnText(stmt, 5);
    c.last_modified_ms = sqlite3_column_int64(stmt, 6);
    return c;
  }

  static std::string columnText(sqlite3_stmt* stmt, int i) {
    const unsigned char* p = sqlite3_column_text(stmt, i);
    int n = sqlite3_column_bytes(stmt, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }

  static Error credentialNotFound(std::string_view access_key_id) {
    return Error::notFound(
        fmt::format("access key \"{}\" does not exist; list access keys to see the existing ones",
                    access_key_id));
  }

  Result<StmtPtr> prepare(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) !=
        SQLITE_OK)
      return sqliteError(db_.get(), "cannot prepare statement");
    return StmtPtr(raw);
  }

  Status stepDone(sqlite3_stmt* stmt, std::string_view what) {
    if (sqlite3_step(stmt) != SQLITE_DONE) return sqliteError(db_.get(), what);
    return okStatus();
  }

  // Runs a statement that returns no rows, binding `params` as ?1, ?2, ...
  Status run(const std::string& sql, std::initializer_list<std::string_view> params,
             std::string_view what) {
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(sql));
    int i = 0;
    for (std::string_view p : params) bindText(stmt.get(), ++i, p);
    return stepDone(stmt.get(), what);
  }

  // Runs `body` (returning a Result or Status) in a transaction, committed if it succeeds and
  // rolled back otherwise. IMMEDIATE takes the write lock up front, so what `body` reads cannot
  // change under it, even from another process, before it writes.
  template <class Body>
  auto inTransaction(Body&& body) -> decltype(body()) {
    GUST_TRY(execOn(db_.get(), "BEGIN IMMEDIATE", "begin transaction"));
    auto result = body();
    if (result.ok()) {
      Status committed = execOn(db_.get(), "COMMIT", "commit");
      if (committed.ok()) return result;
      (void)execOn(db_.get(), "ROLLBACK", "roll back");
      return committed.error();
    }
    (void)execOn(db_.get(), "ROLLBACK", "roll back");
    return result;
  }

  // Every row of `stmt`, each decoded by `decode` (a function of the statement returning a
  // Result<T>).
  template <class T>
  Result<std::vector<T>> readRows(sqlite3_stmt* stmt, Result<T> (*decode)(sqlite3_stmt*),
                                  std::string_view what) {
    std::vector<T> out;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqliteError(db_.get(), what);
      GUST_ASSIGN_OR_RETURN(T row, decode(stmt));
      out.push_back(std::move(row));
    }
    return out;
  }

  Result<std::vector<FunctionRecord>> readRecords(sqlite3_stmt* stmt, std::string_view what) {
    return readRows(stmt, &rowToRecord, what);
  }

  Result<std::optional<FunctionRecord>> readLatest(std::string_view name) {
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kLatestSelect) + " WHERE name = ?1"));
    bindText(stmt.get(), 1, name);
    GUST_ASSIGN_OR_RETURN(std::vector<FunctionRecord> found,
                          readRecords(stmt.get(), "cannot read function"));
    if (found.empty()) return std::optional<FunctionRecord>();
    return std::optional<FunctionRecord>(std::move(found.front()));
  }

  // $LATEST, or kNotFound naming the function.
  Result<FunctionRecord> requireLatest(std::string_view name) {
    GUST_ASSIGN_OR_RETURN(std::optional<FunctionRecord> latest, readLatest(name));
    if (!latest) return functionNotFound(name);
    return std::move(*latest);
  }

  // A published version; nullopt if it (or the function) does not exist or `version` is not a
  // version number.
  Result<std::optional<FunctionRecord>> readVersion(std::string_view name,
                                                    std::string_view version) {
    std::optional<int64_t> number = versionNumber(version);
    if (!number) return std::optional<FunctionRecord>();
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(std::string(kVersionSelect) +
                                                " WHERE v.function = ?1 AND v.version = ?2"));
    bindText(stmt.get(), 1, name);
    sqlite3_bind_int64(stmt.get(), 2, *number);
    GUST_ASSIGN_OR_RETURN(std::vector<FunctionRecord> found,
                          readRecords(stmt.get(), "cannot read version"));
    if (found.empty()) return std::optional<FunctionRecord>();
    return std::optional<FunctionRecord>(std::move(found.front()));
  }

  Result<int64_t> lastVersion(std::string_view name) {
    GUST_ASSIGN_OR_RETURN(StmtPtr stmt,
                          prepare("SELECT last_version FROM functions WHERE name = ?1"));
    bindText(stmt.get(), 1, name);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW)
      return sqliteError(db_.get(), "cannot read the last version number");
    return sqlite3_column_int64(stmt.get(), 0);
  }

  // Writes `record` as its function's $LATEST (creating the row or replacing its configuration;
  // last_version is kept), stamped with the time and a new revision id. `revision` is the
  // caller's.
  Result<FunctionRecord> writeLatest(FunctionRecord record) {
    record.version = std::string(kLatest);
    record.last_modified = nowIso8601();
    record.revision_id = uuid4();
    std::string env = environmentToJson(record.environment);
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare("INSERT INTO functions (name, runtime, handler, memory_mb, timeout_s, "
                "environment, description, code_sha256, code_size, last_modified, revision, "
                "reserved_concurrency, provisioned_concurrency, ephemeral_storage_mb, network, "
                "role, revision_id, invokes) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18) "
                "ON CONFLICT (name) DO UPDATE SET runtime = excluded.runtime, "
                "handler = excluded.handler, memory_mb = excluded.memory_mb, "
                "timeout_s = excluded.timeout_s, environment = excluded.environment, "
                "description = excluded.description, code_sha256 = excluded.code_sha256, "
                "code_size = excluded.code_size, last_modified = excluded.last_modified, "
                "revision = excluded.revision, "
                "reserved_concurrency = excluded.reserved_concurrency, "
                "provisioned_concurrency = excluded.provisioned_concurrency, "
                "ephemeral_storage_mb = excluded.ephemeral_storage_mb, "
                "network = excluded.network, role = excluded.role, "
                "revision_id = excluded.revision_id, invokes = excluded.invokes"));
    sqlite3_stmt* s = stmt.get();
    bindText(s, 1, record.name);
    bindText(s, 2, record.runtime);
    bindText(s, 3, record.handler);
    sqlite3_bind_int(s, 4, record.memory_mb);
    sqlite3_bind_int(s, 5, record.timeout_s);
    bindText(s, 6, env);
    bindText(s, 7, record.description);
    bindText(s, 8, record.code_sha256);
    sqlite3_bind_int64(s, 9, record.code_size);
    bindText(s, 10, record.last_modified);
    sqlite3_bind_int64(s, 11, record.revision);
    if (record.reserved_concurrency)
      sqlite3_bind_int(s, 12, *record.reserved_concurrency);
    else
      sqlite3_bind_null(s, 12);
    sqlite3_bind_int(s, 13, record.provisioned_concurrency);
    sqlite3_bind_int(s, 14, record.ephemeral_storage_mb);
    bindText(s, 15, record.network);
    bindText(s, 16, record.role);
    bindText(s, 17, record.revision_id);
    bindText(s, 18, invokesToJson(record.invokes));
    GUST_TRY(stepDone(s, "cannot write function"));
    return record;
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
    r.role = columnText(stmt, 15);
    r.revision_id = columnText(stmt, 16);
    r.version = columnText(stmt, 17);
    GUST_ASSIGN_OR_RETURN(r.invokes, invokesFromJson(columnText(stmt, 18), r.name));
    return r;
  }

  // The function exists and so does every version `alias` routes to.
  Status checkAliasTargets(const AliasRecord& alias) {
    GUST_TRY(requireLatest(alias.function));
    auto exists = [&](const std::string& version) -> Status {
      if (version == kLatest) return okStatus();
      GUST_ASSIGN_OR_RETURN(std::optional<FunctionRecord> found,
                            readVersion(alias.function, version));
      if (!found) return versionNotFound(alias.function, version);
      return okStatus();
    };
    GUST_TRY(exists(alias.function_version));
    for (const auto& [version, weight] : alias.additional_weights) GUST_TRY(exists(version));
    return okStatus();
  }

  static Result<AliasRecord> rowToAlias(sqlite3_stmt* stmt) {
    AliasRecord a;
    a.function = columnText(stmt, 0);
    a.name = columnText(stmt, 1);
    a.function_version = columnText(stmt, 2);
    a.description = columnText(stmt, 3);
    GUST_ASSIGN_OR_RETURN(a.additional_weights,
                          weightsFromJson(columnText(stmt, 4), a.function, a.name));
    a.revision_id = columnText(stmt, 5);
    return a;
  }

  Result<std::vector<AliasRecord>> readAliasRows(sqlite3_stmt* stmt) {
    return readRows(stmt, &rowToAlias, "cannot read aliases");
  }

  Result<std::optional<AliasRecord>> readAlias(std::string_view function, std::string_view name) {
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt, prepare(std::string(kAliasSelect) + " WHERE function = ?1 AND name = ?2"));
    bindText(stmt.get(), 1, function);
    bindText(stmt.get(), 2, name);
    GUST_ASSIGN_OR_RETURN(std::vector<AliasRecord> found, readAliasRows(stmt.get()));
    if (found.empty()) return std::optional<AliasRecord>();
    return std::optional<AliasRecord>(std::move(found.front()));
  }

  Result<std::vector<AliasRecord>> readAliases(std::string_view function) {
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt, prepare(std::string(kAliasSelect) + " WHERE function = ?1 ORDER BY name"));
    bindText(stmt.get(), 1, function);
    return readAliasRows(stmt.get());
  }

  // Creates or replaces the alias with a new revision id.
  Result<AliasRecord> writeAlias(AliasRecord alias) {
    alias.revision_id = uuid4();
    GUST_ASSIGN_OR_RETURN(
        StmtPtr stmt,
        prepare("INSERT OR REPLACE INTO aliases (function, name, function_version, description, "
                "additional_weights, revision_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    bindText(stmt.get(), 1, alias.function);
    bindText(stmt.get(), 2, alias.name);
    bindText(stmt.get(), 3, alias.function_version);
    bindText(stmt.get(), 4, alias.description);
    bindText(stmt.get(), 5, weightsToJson(alias.additional_weights));
    bindText(stmt.get(), 6, alias.revision_id);
    GUST_TRY(stepDone(stmt.get(), "cannot write alias"));
    return alias;
  }

  static Result<ProvisionedConfigRecord> rowToProvisioned(sqlite3_stmt* stmt) {
    ProvisionedConfigRecord c;
    c.function = columnText(stmt, 0);
    c.qualifier = columnText(stmt, 1);
    c.requested = sqlite3_column_int(stmt, 2);
    c.last_modified = columnText(stmt, 3);
    return c;
  }

  Result<std::vector<ProvisionedConfigRecord>> readProvisioned(sqlite3_stmt* stmt) {
    return readRows(stmt, &rowToProvisioned, "cannot read provisioned concurrency");
  }

  static Result<CredentialRecord> rowToCredential(sqlite3_stmt* stmt) {
    CredentialRecord c;
    c.access_key_id = columnText(stmt, 0);
    c.sealed_secret = columnText(stmt, 1);
    c.description = columnText(stmt, 2);
    c.created = columnText(stmt, 3);
    return c;
  }

  Result<std::vector<CredentialRecord>> readCredentials(sqlite3_stmt* stmt) {
    return readRows(stmt, &rowToCredential, "cannot read access keys");
  }

  std::mutex mu_;  // guards db_: one statement at a time on the single connection
  DbPtr db_;
};

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& path) {
  GUST_ASSIGN_OR_RETURN(DbPtr db, sqlite::openDatabase(path, kLabel, kMigrations));
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(db)));
}

}  // namespace gust::store
