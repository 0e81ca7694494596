// SqliteStore: conditional updates, published versions, aliases, provisioned concurrency
// configs, access keys, and the migration that added them.
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <system_error>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"

namespace gust::store {
namespace {

const std::regex kUuid(R"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})");

class SqliteVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "gust-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_path_ = dir_ / "gust.db";
    store_ = open();
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    store_.reset();
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
    r.environment = {{"GREETING", "hello"}, {"EMPTY", ""}};
    r.description = "a test function";
    r.code_sha256 = std::string(64, 'a');
    r.code_size = 1234;
    r.role = "arn:aws:iam::123456789012:role/test";
    return r;
  }

  // Creates `name` and returns $LATEST.
  FunctionRecord create(const std::string& name) {
    auto created = store_->createFunction(sample(name));
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? *created : FunctionRecord{};
  }

  // Changes $LATEST's memory (so the next publish is a new version) and returns it.
  FunctionRecord setMemory(const std::string& name, int memory_mb) {
    FunctionRecord r = *store_->getFunction(name);
    r.memory_mb = memory_mb;
    auto updated = store_->updateFunction(r, "");
    EXPECT_TRUE(updated.ok()) << updated.error().message;
    return updated.ok() ? *updated : FunctionRecord{};
  }

  std::string publish(const std::string& name, std::string description = "") {
    auto published = store_->publishVersion(name, std::move(description), "", "");
    EXPECT_TRUE(published.ok()) << published.error().message;
    return published.ok() ? published->version : "";
  }

  static AliasRecord alias(std::string function, std::string name, std::string version,
                           std::map<std::string, double> weights = {}) {
    AliasRecord a;
    a.function = std::move(function);
    a.name = std::move(name);
    a.function_version = std::move(version);
    a.description = "an alias";
    a.additional_weights = std::move(weights);
    return a;
  }

  static ProvisionedConfigRecord provisioned(std::string function, std::string qualifier,
                                             int requested) {
    ProvisionedConfigRecord c;
    c.function = std::move(function);
    c.qualifier = std::move(qualifier);
    c.requested = requested;
    return c;
  }

  std::filesystem::path dir_;
  std::filesystem::path db_path_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteVersionsTest, CreateFunctionRefusesAnExistingName) {
  FunctionRecord created = create("f");
  EXPECT_EQ(created.revision, 1);
  EXPECT_EQ(created.version, "$LATEST");
  EXPECT_EQ(created.role, sample("f").role);
  EXPECT_TRUE(std::regex_match(created.revision_id, kUuid)) << created.revision_id;
  EXPECT_EQ(*store_->getFunction("f"), created);

  auto again = store_->createFunction(sample("f"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find("\"f\""), std::string::npos) << again.error().message;
  EXPECT_EQ(*store_->getFunction("f"), created);
}

TEST_F(SqliteVersionsTest, UpdateFunctionIsConditionalOnTheRevisionId) {
  FunctionRecord missing = sample("nope");
  EXPECT_EQ(store_->updateFunction(missing, "").error().code, ErrorCode::kNotFound);

  FunctionRecord created = create("f");
  FunctionRecord change = created;
  change.memory_mb = 512;
  auto stale = store_->updateFunction(change, "not-the-revision-id");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(stale.error().message.find(created.revision_id), std::string::npos)
      << stale.error().message;
  EXPECT_EQ(*store_->getFunction("f"), created);

  auto updated = store_->updateFunction(change, created.revision_id);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->revision, 2);
  EXPECT_EQ(updated->memory_mb, 512);
  EXPECT_NE(updated->revision_id, created.revision_id);
  EXPECT_TRUE(std::regex_match(updated->revision_id, kUuid));
  EXPECT_EQ(*store_->getFunction("f"), *updated);

  // The old revision id is stale now; an empty one updates unconditionally.
  EXPECT_EQ(store_->updateFunction(change, created.revision_id).error().code,
            ErrorCode::kFailedPrecondition);
  auto unconditional = store_->updateFunction(change, "");
  ASSERT_TRUE(unconditional.ok());
  EXPECT_EQ(unconditional->revision, 3);
}

TEST_F(SqliteVersionsTest, PutFunctionSetsARevisionIdAndKeepsTheRole) {
  FunctionRecord created = create("f");
  FunctionRecord deploy = sample("f");
  deploy.role.clear();  // the gust CLI's deploys carry no role
  auto put = store_->putFunction(deploy);
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->role, created.role);
  EXPECT_NE(put->revision_id, created.revision_id);
  EXPECT_TRUE(std::regex_match(put->revision_id, kUuid));
  EXPECT_EQ(*store_->getFunction("f"), *put);

  deploy.role = "arn:aws:iam::123456789012:role/other";
  EXPECT_EQ(store_->putFunction(deploy)->role, deploy.role);
  EXPECT_EQ(store_->getFunction("f")->role, deploy.role);
}

TEST_F(SqliteVersionsTest, PublishSnapshotsLatest) {
  FunctionRecord latest = create("f");
  auto published = store_->publishVersion("f", "first", "", "");
  ASSERT_TRUE(published.ok()) << published.error().message;
  EXPECT_EQ(published->version, "1");
  EXPECT_EQ(published->description, "first");
  EXPECT_TRUE(std::regex_match(published->revision_id, kUuid));
  EXPECT_NE(published->revision_id, latest.revision_id);
  // Everything else is $LATEST's.
  FunctionRecord expected = latest;
  expected.version = "1";
  expected.description = "first";
  expected.revision_id = published->revision_id;
  expected.last_modified = published->last_modified;
  EXPECT_EQ(*published, expected);
  EXPECT_EQ(*store_->getVersion("f", "1"), *published);

  // The version does not follow later changes of $LATEST.
  FunctionRecord change = latest;
  change.memory_mb = 1024;
  change.environment = {{"NEW", "1"}};
  change.code_sha256 = std::string(64, 'b');
  ASSERT_TRUE(store_->updateFunction(change, "").ok());
  EXPECT_EQ(*store_->getVersion("f", "1"), *published);
  EXPECT_EQ(store_->getVersion("f", "$LATEST")->memory_mb, 1024);

  // Without a description, the version takes $LATEST's.
  auto second = store_->publishVersion("f", "", "", "");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version, "2");
  EXPECT_EQ(second->description, latest.description);
  EXPECT_EQ(second->code_sha256, std::string(64, 'b'));
  EXPECT_EQ(second->environment, change.environment);
}

TEST_F(SqliteVersionsTest, PublishingUnchangedCodeAndConfigReturnsTheNewestVersion) {
  create("f");
  ASSERT_EQ(publish("f", "one"), "1");
  auto again = store_->publishVersion("f", "another description", "", "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, "1");
  EXPECT_EQ(again->description, "one");

  // A new revision with the same content is still the same version.
  ASSERT_TRUE(store_->putFunction(sample("f")).ok());
  EXPECT_EQ(publish("f"), "1");

  setMemory("f", 512);
  EXPECT_EQ(publish("f"), "2");
  // Back to version 1's configuration: it differs from the newest (2), so it is new.
  setMemory("f", 256);
  EXPECT_EQ(publish("f"), "3");
  EXPECT_EQ(store_->listVersions("f")->size(), 4u);
}

TEST_F(SqliteVersionsTest, PublishChecksItsPreconditions) {
  EXPECT_EQ(store_->publishVersion("nope", "", "", "").error().code, ErrorCode::kNotFound);
  FunctionRecord latest = create("f");
  auto wrong_code = store_->publishVersion("f", "", std::string(64, 'c'), "");
  ASSERT_FALSE(wrong_code.ok());
  EXPECT_EQ(wrong_code.error().code, ErrorCode::kFailedPrecondition);
  auto wrong_revision = store_->publishVersion("f", "", "", "stale");
  ASSERT_FALSE(wrong_revision.ok());
  EXPECT_EQ(wrong_revision.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_->listVersions("f")->size(), 1u) << "nothing was published";

  auto right = store_->publishVersion("f", "", latest.code_sha256, latest.revision_id);
  ASSERT_TRUE(right.ok()) << right.error().message;
  EXPECT_EQ(right->version, "1");
}

TEST_F(SqliteVersionsTest, VersionNumbersAreNeverReused) {
  create("f");
  ASSERT_EQ(publish("f"), "1");
  setMemory("f", 512);
  ASSERT_EQ(publish("f"), "2");
  ASSERT_TRUE(store_->deleteVersion("f", "2").ok());
  EXPECT_EQ(store_->getVersion("f", "2").error().code, ErrorCode::kNotFound);
  setMemory("f", 1024);
  EXPECT_EQ(publish("f"), "3");
  ASSERT_TRUE(store_->deleteVersion("f", "3").ok());
  ASSERT_TRUE(store_->deleteVersion("f", "1").ok());

  // Not even after a reopen, with no version left.
  store_ = open();
  ASSERT_TRUE(store_);
  setMemory("f", 2048);
  EXPECT_EQ(publish("f"), "4");
}

TEST_F(SqliteVersionsTest, GetVersionNamesWhatIsMissing) {
  auto no_function = store_->getVersion("nope", "1");
  ASSERT_FALSE(no_function.ok());
  EXPECT_EQ(no_function.error().code, ErrorCode::kNotFound);
  EXPECT_NE(no_function.error().message.find("function \"nope\""), std::string::npos)
      << no_function.error().message;
  EXPECT_EQ(store_->getVersion("nope", "$LATEST").error().code, ErrorCode::kNotFound);

  FunctionRecord latest = create("f");
  EXPECT_EQ(*store_->getVersion("f", "$LATEST"), latest);
  for (const char* version : {"1", "abc", "0", "01", "-1", "99999999999999999999999"}) {
    auto missing = store_->getVersion("f", version);
    ASSERT_FALSE(missing.ok()) << version;
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << version;
    EXPECT_NE(missing.error().message.find(std::string("version \"") + version + "\""),
              std::string::npos)
        << missing.error().message;
  }
  EXPECT_EQ(store_->listVersions("nope").error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteVersionsTest, ListVersionsStartsWithLatestThenByNumber) {
  create("f");
  for (int i = 1; i <= 11; ++i) {
    setMemory("f", 128 + i);
    ASSERT_EQ(publish("f"), std::to_string(i));
  }
  auto versions = store_->listVersions("f");
  ASSERT_TRUE(versions.ok()) << versions.error().message;
  ASSERT_EQ(versions->size(), 12u);
  EXPECT_EQ((*versions)[0].version, "$LATEST");
  EXPECT_EQ((*versions)[0], *store_->getFunction("f"));
  for (int i = 1; i <= 11; ++i) {
    EXPECT_EQ((*versions)[i].version, std::to_string(i));
    EXPECT_EQ((*versions)[i].memory_mb, 128 + i);
  }
}

TEST_F(SqliteVersionsTest, VersionsReportTheFunctionsReservation) {
  FunctionRecord latest = create("f");
  ASSERT_EQ(publish("f"), "1");
  latest.reserved_concurrency = 0;
  ASSERT_TRUE(store_->updateFunction(latest, "").ok());
  EXPECT_EQ(store_->getVersion("f", "1")->reserved_concurrency, std::optional<int>(0));
  EXPECT_EQ(store_->listVersions("f")->back().reserved_concurrency, std::optional<int>(0));
  EXPECT_EQ(publish("f"), "1") << "a reservation is not a version's configuration";
}

TEST_F(SqliteVersionsTest, DeleteVersionRefusesWhileAnAliasRoutesToIt) {
  create("f");
  ASSERT_EQ(publish("f"), "1");
  setMemory("f", 512);
  ASSERT_EQ(publish("f"), "2");
  ASSERT_TRUE(store_->createAlias(alias("f", "live", "1")).ok());
  ASSERT_TRUE(store_->createAlias(alias("f", "canary", "1", {{"2", 0.1}})).ok());

  for (const char* version : {"1", "2"}) {
    Status refused = store_->deleteVersion("f", version);
    ASSERT_FALSE(refused.ok()) << version;
    EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
    EXPECT_NE(refused.error().message.find("alias \""), std::string::npos)
        << refused.error().message;
  }
  EXPECT_NE(store_->deleteVersion("f", "2").error().message.find("\"canary\""), std::string::npos);

  ASSERT_TRUE(store_->updateAlias(alias("f", "canary", "1"), "").ok());
  ASSERT_TRUE(store_->deleteVersion("f", "2").ok());
  EXPECT_EQ(store_->deleteVersion("f", "2").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteVersion("f", "$LATEST").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->deleteVersion("nope", "1").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->getFunction("f").ok());
}

TEST_F(SqliteVersionsTest, AliasesCreateGetListUpdateDelete) {
  create("f");
  ASSERT_EQ(publish("f"), "1");
  setMemory("f", 512);
  ASSERT_EQ(publish("f"), "2");

  auto live = store_->createAlias(alias("f", "live", "1", {{"2", 0.25}}));
  ASSERT_TRUE(live.ok()) << live.error().message;
  EXPECT_TRUE(std::regex_match(live->revision_id, kUuid));
  EXPECT_EQ(live->additional_weights, (std::map<std::string, double>{{"2", 0.25}}));
  EXPECT_EQ(*store_->getAlias("f", "live"), *live);
  ASSERT_TRUE(store_->createAlias(alias("f", "beta", "$LATEST")).ok());

  auto duplicate = store_->createAlias(alias("f", "live", "2"));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->getAlias("f", "live")->function_version, "1");

  auto list = store_->listAliases("f");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "beta");
  EXPECT_EQ((*list)[1], *live);

  auto stale = store_->updateAlias(alias("f", "live", "2"), "stale");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  auto updated = store_->updateAlias(alias("f", "live", "2"), live->revision_id);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->function_version, "2");
  EXPECT_TRUE(updated->additional_weights.empty());
  EXPECT_NE(updated->revision_id, live->revision_id);
  EXPECT_EQ(*store_->getAlias("f", "live"), *updated);
  EXPECT_EQ(store_->updateAlias(alias("f", "live", "1"), live->revision_id).error().code,
            ErrorCode::kFailedPrecondition);

  ASSERT_TRUE(store_->deleteAlias("f", "live").ok());
  EXPECT_EQ(store_->getAlias("f", "live").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteAlias("f", "live").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->listAliases("f")->size(), 1u);
}

TEST_F(SqliteVersionsTest, AliasesNeedTheirFunctionAndVersions) {
  auto no_function = store_->createAlias(alias("nope", "live", "$LATEST"));
  ASSERT_FALSE(no_function.ok());
  EXPECT_EQ(no_function.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->listAliases("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->getAlias("nope", "live").error().code, ErrorCode::kNotFound);

  create("f");
  ASSERT_EQ(publish("f"), "1");
  auto no_version = store_->createAlias(alias("f", "live", "7"));
  ASSERT_FALSE(no_version.ok());
  EXPECT_EQ(no_version.error().code, ErrorCode::kNotFound);
  EXPECT_NE(no_version.error().message.find("\"7\""), std::string::npos);
  EXPECT_EQ(store_->createAlias(alias("f", "live", "1", {{"7", 0.5}})).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->updateAlias(alias("f", "missing", "1"), "").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->createAlias(alias("f", "live", "1")).ok());
  EXPECT_EQ(store_->updateAlias(alias("f", "live", "7"), "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->getAlias("f", "live")->function_version, "1");
}

TEST_F(SqliteVersionsTest, ProvisionedConfigsPutGetListDelete) {
  EXPECT_EQ(store_->putProvisionedConfig(provisioned("nope", "1", 2)).error().code,
            ErrorCode::kNotFound);
  create("f");
  create("g");
  auto put = store_->putProvisionedConfig(provisioned("f", "live", 2));
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_TRUE(std::regex_match(put->last_modified,
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000)")));
  EXPECT_EQ(*store_->getProvisionedConfig("f", "live"), *put);
  auto replaced = store_->putProvisionedConfig(provisioned("f", "live", 5));
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(store_->getProvisionedConfig("f", "live")->requested, 5);
  ASSERT_TRUE(store_->putProvisionedConfig(provisioned("f", "1", 1)).ok());
  ASSERT_TRUE(store_->putProvisionedConfig(provisioned("g", "2", 3)).ok());

  auto of_f = store_->listProvisionedConfigs("f");
  ASSERT_TRUE(of_f.ok());
  ASSERT_EQ(of_f->size(), 2u);
  EXPECT_EQ((*of_f)[0].qualifier, "1");
  EXPECT_EQ((*of_f)[1].qualifier, "live");
  auto all = store_->listProvisionedConfigs("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].function, "g");
  EXPECT_EQ(store_->listProvisionedConfigs("nope").error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(store_->deleteProvisionedConfig("f", "live").ok());
  EXPECT_EQ(store_->getProvisionedConfig("f", "live").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteProvisionedConfig("f", "live").error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteVersionsTest, DeletingAVersionOrAliasDeletesItsProvisionedConfig) {
  create("f");
  ASSERT_EQ(publish("f"), "1");
  setMemory("f", 512);
  ASSERT_EQ(publish("f"), "2");
  ASSERT_TRUE(store_->createAlias(alias("f", "live", "2")).ok());
  ASSERT_TRUE(store_->putProvisionedConfig(provisioned("f", "1", 1)).ok());
  ASSERT_TRUE(store_->putProvisionedConfig(provisioned("f", "live", 1)).ok());
  ASSERT_TRUE(store_->deleteVersion("f", "1").ok());
  EXPECT_EQ(store_->getProvisionedConfig("f", "1").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->deleteAlias("f", "live").ok());
  EXPECT_TRUE(store_->listProvisionedConfigs("f")->empty());
}

TEST_F(SqliteVersionsTest, DeleteFunctionRemovesVersionsAliasesAndProvisionedConfigs) {
  create("f");
  create("g");
  ASSERT_EQ(publish("f"), "1");
  ASSERT_EQ(publish("g"), "1");
  ASSERT_TRUE(store_->createAlias(alias("f", "live", "1")).ok());
  ASSERT_TRUE(store_->createAlias(alias("g", "live", "1")).ok());
  ASSERT_TRUE(store_->putProvisionedConfig(provisioned("f", "live", 1)).ok());
  ASSERT_TRUE(store_->putProvisionedConfig(provisioned("g", "live", 1)).ok());

  ASSERT_TRUE(store_->deleteFunction("f").ok());
  EXPECT_EQ(store_->getVersion("f", "1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->getAlias("f", "live").error().code, ErrorCode::kNotFound);
  auto all = store_->listProvisionedConfigs("");
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].function, "g");
  EXPECT_TRUE(store_->getVersion("g", "1").ok());
  EXPECT_TRUE(store_->getAlias("g", "live").ok());

  // A function created again under the name starts a new history.
  create("f");
  EXPECT_EQ(publish("f"), "1");
  EXPECT_TRUE(store_->listAliases("f")->empty());
  EXPECT_TRUE(store_->listProvisionedConfigs("f")->empty());
}

TEST_F(SqliteVersionsTest, CredentialsPutGetListDelete) {
  CredentialRecord key;
  key.access_key_id = "GKIAZZZZZZZZZZZZZZZZ";
  key.sealed_secret = "sealed-bytes";
  key.description = "ci";
  ASSERT_TRUE(store_->putCredential(key).ok());
  auto got = store_->getCredential(key.access_key_id);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->sealed_secret, "sealed-bytes");
  EXPECT_EQ(got->description, "ci");
  EXPECT_FALSE(got->created.empty()) << "an empty creation time is stamped";

  Status duplicate = store_->putCredential(key);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(duplicate.error().message.find("sealed-bytes"), std::string::npos)
      << "the secret never appears in messages";

  CredentialRecord other = key;
  other.access_key_id = "GKIAAAAAAAAAAAAAAAAA";
  other.created = "2026-01-01T00:00:00.000+0000";
  ASSERT_TRUE(store_->putCredential(other).ok());
  auto list = store_->listCredentials();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], other);
  EXPECT_EQ((*list)[1], *got);

  ASSERT_TRUE(store_->deleteCredential(key.access_key_id).ok());
  EXPECT_EQ(store_->getCredential(key.access_key_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteCredential(key.access_key_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->listCredentials()->size(), 1u);
}

TEST_F(SqliteVersionsTest, MigratesAVersionTwoDatabase) {
  store_.reset();
  std::filesystem::remove(db_path_);
  {
    // The schema as version 2 shipped it, with two functions.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    const char* v2 = R"sql(
CREATE TABLE functions (
  name TEXT PRIMARY KEY NOT NULL, runtime TEXT NOT NULL, handler TEXT NOT NULL,
  memory_mb INTEGER NOT NULL, timeout_s INTEGER NOT NULL, environment TEXT NOT NULL,
  description TEXT NOT NULL, code_sha256 TEXT NOT NULL, code_size INTEGER NOT NULL,
  last_modified TEXT NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
ALTER TABLE functions ADD COLUMN reserved_concurrency INTEGER;
ALTER TABLE functions ADD COLUMN provisioned_concurrency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE functions ADD COLUMN ephemeral_storage_mb INTEGER NOT NULL DEFAULT 512;
ALTER TABLE functions ADD COLUMN network TEXT NOT NULL DEFAULT 'none';
CREATE TABLE logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, function TEXT NOT NULL, version TEXT NOT NULL,
  request_id TEXT NOT NULL, timestamp_ms INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX logs_by_function_time ON logs (function, timestamp_ms);
CREATE INDEX logs_by_request ON logs (request_id);
CREATE INDEX logs_by_time ON logs (timestamp_ms);
INSERT INTO functions VALUES ('old', 'python3.11', 'app.handler', 128, 3, '{"A":"b"}', 'd',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 10,
  '2026-01-01T00:00:00.000+0000', 4, 5, 0, 1024, 'egress');
INSERT INTO functions VALUES ('other', 'python3.11', 'app.handler', 128, 3, '{}', '',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 10,
  '2026-01-01T00:00:00.000+0000', 1, NULL, 0, 512, 'none');
INSERT INTO logs (function, version, request_id, timestamp_ms, text)
  VALUES ('old', '$LATEST', 'r', 1, 'START');
PRAGMA user_version = 2;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v2, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  store_ = open();
  ASSERT_TRUE(store_);
  auto old = store_->getFunction("old");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->revision, 4);
  EXPECT_EQ(old->environment, (std::map<std::string, std::string>{{"A", "b"}}));
  EXPECT_EQ(old->reserved_concurrency, std::optional<int>(5));
  EXPECT_EQ(old->ephemeral_storage_mb, 1024);
  EXPECT_EQ(old->network, "egress");
  EXPECT_EQ(old->role, "");
  EXPECT_EQ(old->version, "$LATEST");
  EXPECT_TRUE(std::regex_match(old->revision_id, kUuid)) << old->revision_id;
  auto other = store_->getFunction("other");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(std::regex_match(other->revision_id, kUuid)) << other->revision_id;
  EXPECT_NE(other->revision_id, old->revision_id) << "each function has its own revision id";

  LogQuery q;
  q.function = "old";
  EXPECT_EQ(store_->queryLogs(q)->size(), 1u);

  // The migrated function takes part in everything new.
  auto updated = store_->updateFunction(*old, old->revision_id);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->revision, 5);
  EXPECT_EQ(publish("old"), "1");
  ASSERT_TRUE(store_->createAlias(alias("old", "live", "1")).ok());
  ASSERT_TRUE(store_->putProvisionedConfig(provisioned("old", "live", 1)).ok());
  ASSERT_TRUE(store_->deleteFunction("old").ok());
  EXPECT_TRUE(store_->listProvisionedConfigs("")->empty());
}

TEST_F(SqliteVersionsTest, InvokesIsStoredAndPublishedVersionsKeepTheirOwn) {
  FunctionRecord r = create("f");
  EXPECT_TRUE(r.invokes.empty());
  r.invokes = {"callee", "other:live"};
  auto updated = store_->updateFunction(r, "");
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(store_->getFunction("f")->invokes, r.invokes);
  std::string v1 = publish("f");
  // A different list is a different configuration: the next publish is a new version.
  r = *store_->getFunction("f");
  r.invokes = {"callee"};
  ASSERT_TRUE(store_->updateFunction(r, "").ok());
  std::string v2 = publish("f");
  EXPECT_NE(v1, v2);
  EXPECT_EQ(store_->getVersion("f", v1)->invokes,
            (std::vector<std::string>{"callee", "other:live"}));
  EXPECT_EQ(store_->getVersion("f", v2)->invokes, std::vector<std::string>{"callee"});
  store_.reset();
  store_ = open();
  EXPECT_EQ(store_->getFunction("f")->invokes, std::vector<std::string>{"callee"});
}

}  // namespace
}  // namespace gust::store
