#include "control/function_service.h"

#include <atomic>
#include <limits>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto.h"
#include "control/zip.h"
#include "store/sqlite/sqlite_store.h"
#include "test_util.h"

namespace gust::control {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::listDir;
using testing::makeZip;
using testing::readFile;
using testing::ScratchDir;
using testing::writeFile;

class FunctionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::openSqliteStore(dir_ / "gust.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    auto blobs = store::BlobStore::open(dir_ / "blobs");
    ASSERT_TRUE(blobs.ok()) << blobs.error().message;
    blobs_.emplace(std::move(*blobs));
    service_.emplace(*store_, *blobs_, dir_ / "code");
  }

  static DeployRequest request(std::string name, std::string zip) {
    DeployRequest r;
    r.config.name = std::move(name);
    r.config.runtime = "python3.11";
    r.config.handler = "app.handler";
    r.zip = std::move(zip);
    return r;
  }

  static std::string appZip(const std::string& body) {
    return makeZip({{.name = "app.py", .content = body}});
  }

  // Files in the blob store and entries in the code cache.
  size_t blobCount() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "blobs"))
      n += e.is_regular_file();
    return n;
  }
  std::vector<std::string> cacheEntries() const {
    return std::filesystem::exists(dir_ / "code") ? listDir(dir_ / "code")
                                                  : std::vector<std::string>{};
  }

  ScratchDir dir_;
  std::unique_ptr<store::Store> store_;
  std::optional<store::BlobStore> blobs_;
  std::optional<FunctionService> service_;
};

TEST_F(FunctionServiceTest, DeployCreatesThenUpdates) {
  std::string zip = appZip("def handler(e, c): return 1\n");
  auto first = service_->deploy(request("hello", zip));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->record.revision, 1);
  EXPECT_EQ(first->record.code_sha256, sha256Hex(zip));
  EXPECT_EQ(first->record.code_size, static_cast<int64_t>(zip.size()));
  EXPECT_EQ(first->record.handler, "app.handler");
  EXPECT_TRUE(blobs_->contains(sha256Hex(zip)));

  auto dir = service_->codeDir(first->record);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(*dir, dir_ / "code" / sha256Hex(zip));
  EXPECT_EQ(readFile(*dir / "app.py"), "def handler(e, c): return 1\n");

  DeployRequest update = request("hello", appZip("def handler(e, c): return 2\n"));
  update.config.memory_mb = 1024;
  auto second = service_->deploy(update);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->record.revision, 2);
  EXPECT_EQ(second->record.memory_mb, 1024);

  auto got = service_->get("hello");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, second->record);
  EXPECT_EQ(readFile(*service_->codeDir(*got) / "app.py"), "def handler(e, c): return 2\n");
}

TEST_F(FunctionServiceTest, RedeployingTheSameCodeReusesBlobAndCache) {
  std::string zip = appZip("x");
  ASSERT_TRUE(service_->deploy(request("a", zip)).ok());
  ASSERT_TRUE(service_->deploy(request("b", zip)).ok());
  ASSERT_TRUE(service_->deploy(request("a", zip)).ok());
  EXPECT_EQ(blobCount(), 1u);
  EXPECT_THAT(cacheEntries(), ::testing::ElementsAre(sha256Hex(zip)));
  auto list = service_->list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[0].revision, 2);
}

TEST_F(FunctionServiceTest, InvalidConfigStoresNothing) {
  DeployRequest r = request("hello", appZip("x"));
  r.config.memory_mb = 64;
  auto out = service_->deploy(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(out.error().message, HasSubstr("memory: 64 is out of range"));
  EXPECT_THAT(*service_->list(), IsEmpty());
  EXPECT_EQ(blobCount(), 0u);
  EXPECT_THAT(cacheEntries(), IsEmpty());
}

TEST_F(FunctionServiceTest, HostileZipStoresNothing) {
  for (std::string zip : {makeZip({{.name = "../../evil.py", .content = "x"}}),
                          std::string("not a zip"), std::string()}) {
    auto out = service_->deploy(request("hello", zip));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(service_->get("hello").error().code, ErrorCode::kNotFound);
    EXPECT_EQ(blobCount(), 0u);
    EXPECT_THAT(cacheEntries(), IsEmpty());
  }
}

TEST_F(FunctionServiceTest, OversizedZipIsTooLarge) {
  auto out = service_->deploy(request("hello", std::string(kMaxZipBytes + 1, 'x')));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(blobCount(), 0u);
}

TEST_F(FunctionServiceTest, CodeDirReExtractsACleanedCache) {
  std::string zip = appZip("code");
  auto out = service_->deploy(request("hello", zip));
  ASSERT_TRUE(out.ok());
  std::filesystem::remove_all(dir_ / "code");
  auto dir = service_->codeDir(out->record);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(readFile(*dir / "app.py"), "code");
}

TEST_F(FunctionServiceTest, CodeDirReportsAMissingOrCorruptBlob) {
  std::string zip = appZip("code");
  auto out = service_->deploy(request("hello", zip));
  ASSERT_TRUE(out.ok());
  std::filesystem::remove_all(dir_ / "code");
  writeFile(blobs_->pathOf(sha256Hex(zip)), "tampered");
  auto corrupt = service_->codeDir(out->record);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_THAT(corrupt.error().message, HasSubstr("corrupt"));

  std::filesystem::remove(blobs_->pathOf(sha256Hex(zip)));
  auto missing = service_->codeDir(out->record);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  store::FunctionRecord bad = out->record;
  bad.code_sha256 = "../../etc";
  EXPECT_FALSE(service_->codeDir(bad).ok());
}

TEST_F(FunctionServiceTest, RemoveDeletesMetadataButKeepsTheBlob) {
  std::string zip = appZip("code");
  ASSERT_TRUE(service_->deploy(request("hello", zip)).ok());
  ASSERT_TRUE(service_->remove("hello").ok());
  EXPECT_EQ(service_->get("hello").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(blobs_->contains(sha256Hex(zip)));
  Status again = service_->remove("hello");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

TEST_F(FunctionServiceTest, ConcurrentDeploysCreateOnce) {
  constexpr int kThreads = 6;
  std::atomic<int> created{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share code, half bring their own.
      auto out = service_->deploy(request("shared", appZip(t % 2 ? "odd" : std::to_string(t))));
      if (!out.ok())
        ++failures;
      else if (out->created)
        ++created;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(service_->get("shared")->revision, kThreads);
  for (const auto& sha : cacheEntries()) EXPECT_EQ(sha.size(), 64u) << sha;
}

TEST_F(FunctionServiceTest, DeploysZipsMadeByZipDirectory) {
  ScratchDir src;
  writeFile(src / "app.py", "def handler(e, c): pass\n");
  writeFile(src / "lib/dep.py", "");
  auto zip = zipDirectory(src.path());
  ASSERT_TRUE(zip.ok());
  auto out = service_->deploy(request("f", *zip));
  ASSERT_TRUE(out.ok()) << out.error().message;
  auto dir = service_->codeDir(out->record);
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(std::filesystem::exists(*dir / "lib/dep.py"));
}

// --- CreateFunction, UpdateFunctionConfiguration, UpdateFunctionCode --------------------------

constexpr std::string_view kRole = "arn:aws:iam::123456789012:role/lambda";

TEST_F(FunctionServiceTest, CreateRefusesAnExistingFunction) {
  std::string zip = appZip("v1");
  auto created = service_->create(request("f", zip), kRole, false);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->version, "$LATEST");
  EXPECT_EQ(created->revision, 1);
  EXPECT_EQ(created->role, kRole);
  EXPECT_EQ(created->code_sha256, sha256Hex(zip));
  EXPECT_EQ(readFile(*service_->codeDir(*created) / "app.py"), "v1");

  auto again = service_->create(request("f", appZip("v2")), kRole, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(*service_->get("f"), *created);

  // A deploy from the CLI (no role) keeps the role.
  ASSERT_TRUE(service_->deploy(request("f", zip)).ok());
  EXPECT_EQ(service_->get("f")->role, kRole);
}

TEST_F(FunctionServiceTest, CreateCanPublishVersionOne) {
  auto published = service_->create(request("f", appZip("x")), kRole, true);
  ASSERT_TRUE(published.ok()) << published.error().message;
  EXPECT_EQ(published->version, "1");
  EXPECT_EQ(published->role, kRole);
  EXPECT_EQ(*service_->getVersion("f", "1"), *published);
  EXPECT_EQ(service_->listVersions("f")->size(), 2u);
}

TEST_F(FunctionServiceTest, CreateValidatesBeforeStoringAnything) {
  DeployRequest bad = request("f", appZip("x"));
  bad.config.timeout_s = 0;
  auto out = service_->create(bad, kRole, true);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(out.error().message, HasSubstr("timeout"));
  auto hostile =
      service_->create(request("f", makeZip({{.name = "/etc/x", .content = "x"}})), kRole, false);
  ASSERT_FALSE(hostile.ok());
  EXPECT_EQ(hostile.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->get("f").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(blobCount(), 0u);
  EXPECT_THAT(cacheEntries(), IsEmpty());
}

TEST_F(FunctionServiceTest, UpdateConfigurationEditsValidatesAndKeepsTheCode) {
  auto created = service_->create(request("f", appZip("x")), kRole, false);
  ASSERT_TRUE(created.ok());
  auto updated = service_->updateConfiguration(
      "f",
      [](FunctionConfig& c) {
        c.memory_mb = 1024;
        c.environment["MODE"] = "fast";
        return okStatus();
      },
      created->revision_id);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->memory_mb, 1024);
  EXPECT_EQ(updated->environment.at("MODE"), "fast");
  EXPECT_EQ(updated->code_sha256, created->code_sha256);
  EXPECT_EQ(updated->role, kRole);
  EXPECT_EQ(updated->revision, 2);
  EXPECT_NE(updated->revision_id, created->revision_id);

  auto noop = [](FunctionConfig&) { return okStatus(); };
  auto stale = service_->updateConfiguration("f", noop, created->revision_id);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);

  auto invalid = service_->updateConfiguration(
      "f",
      [](FunctionConfig& c) {
        c.memory_mb = 64;
        return okStatus();
      },
      "");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(invalid.error().message, HasSubstr("memory: 64 is out of range"));

  auto rename = service_->updateConfiguration(
      "f",
      [](FunctionConfig& c) {
        c.name = "g";
        return okStatus();
      },
      "");
  ASSERT_FALSE(rename.ok());
  EXPECT_EQ(rename.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(rename.error().message, HasSubstr("name"));

  auto refused = service_->updateConfiguration(
      "f", [](FunctionConfig&) -> Status { return Error::invalid("no"); }, "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "no");
  EXPECT_EQ(*service_->get("f"), *updated) << "failed updates change nothing";

  EXPECT_EQ(service_->updateConfiguration("nope", noop, "").error().code, ErrorCode::kNotFound);
}

TEST_F(FunctionServiceTest, UpdateConfigurationRetriesWhenAConcurrentUpdateWins) {
  auto created = service_->create(request("f", appZip("x")), kRole, false);
  ASSERT_TRUE(created.ok());
  // The first call of `change` lets another writer update the function between the service's
  // read and its write.
  int calls = 0;
  auto racing = [&](FunctionConfig& c) {
    if (calls++ == 0) {
      store::FunctionRecord other = *store_->getFunction("f");
      other.description = "the other writer";
      EXPECT_TRUE(store_->updateFunction(other, "").ok());
    }
    c.timeout_s = 60;
    return okStatus();
  };
  auto unconditional = service_->updateConfiguration("f", racing, "");
  ASSERT_TRUE(unconditional.ok()) << unconditional.error().message;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(unconditional->timeout_s, 60);
  EXPECT_EQ(unconditional->description, "the other writer") << "no update is lost";

  // A conditional update reports the race instead.
  calls = 0;
  auto conditional = service_->updateConfiguration("f", racing, unconditional->revision_id);
  ASSERT_FALSE(conditional.ok());
  EXPECT_EQ(conditional.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(calls, 1);
}

TEST_F(FunctionServiceTest, UpdateCodeReplacesTheCodeAndCanPublish) {
  auto created = service_->create(request("f", appZip("v1")), kRole, false);
  ASSERT_TRUE(created.ok());
  std::string v2 = appZip("v2");
  auto updated = service_->updateCode("f", v2, created->revision_id, false);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->version, "$LATEST");
  EXPECT_EQ(updated->code_sha256, sha256Hex(v2));
  EXPECT_EQ(updated->code_size, static_cast<int64_t>(v2.size()));
  EXPECT_EQ(updated->memory_mb, created->memory_mb);
  EXPECT_EQ(readFile(*service_->codeDir(*updated) / "app.py"), "v2");

  EXPECT_EQ(service_->updateCode("f", appZip("v3"), created->revision_id, false).error().code,
            ErrorCode::kFailedPrecondition);

  std::string v3 = appZip("v3");
  auto published = service_->updateCode("f", v3, "", true);
  ASSERT_TRUE(published.ok()) << published.error().message;
  EXPECT_EQ(published->version, "1");
  EXPECT_EQ(published->code_sha256, sha256Hex(v3));
  EXPECT_EQ(service_->get("f")->code_sha256, sha256Hex(v3));
}

TEST_F(FunctionServiceTest, UpdateCodeRejectsBadZipsAndMissingFunctions) {
  auto created = service_->create(request("f", appZip("v1")), kRole, false);
  ASSERT_TRUE(created.ok());
  size_t blobs = blobCount();
  for (std::string zip : {makeZip({{.name = "../evil.py", .content = "x"}}), std::string()}) {
    auto out = service_->updateCode("f", zip, "", false);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(service_->updateCode("f", std::string(kMaxZipBytes + 1, 'x'), "", false).error().code,
            ErrorCode::kTooLarge);
  EXPECT_EQ(*service_->get("f"), *created);

  auto missing = service_->updateCode("nope", appZip("new code"), "", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(blobCount(), blobs) << "nothing stored for a missing function";
}

// --- Versions ----------------------------------------------------------------------------------

TEST_F(FunctionServiceTest, PublishGetListAndDeleteVersions) {
  ASSERT_TRUE(service_->create(request("f", appZip("v1")), kRole, false).ok());
  auto one = service_->publishVersion("f", "first", "", "");
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->version, "1");
  EXPECT_EQ(one->description, "first");
  ASSERT_TRUE(service_->updateCode("f", appZip("v2"), "", false).ok());
  auto two = service_->publishVersion("f", "", "", "");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->version, "2");
  EXPECT_EQ(*service_->getVersion("f", "1"), *one);

  auto versions = service_->listVersions("f");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version, "$LATEST");
  EXPECT_EQ((*versions)[2], *two);

  ASSERT_TRUE(service_->deleteVersion("f", "1").ok());
  EXPECT_EQ(service_->getVersion("f", "1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->deleteVersion("f", "$LATEST").error().code, ErrorCode::kInvalidArgument);

  auto long_description = service_->publishVersion("f", std::string(257, 'd'), "", "");
  ASSERT_FALSE(long_description.ok());
  EXPECT_EQ(long_description.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(long_description.error().message, HasSubstr("description"));
}

// --- Aliases -----------------------------------------------------------------------------------

class FunctionServiceAliasTest : public FunctionServiceTest {
 protected:
  void SetUp() override {
    FunctionServiceTest::SetUp();
    ASSERT_TRUE(service_->create(request("f", appZip("v1")), kRole, true).ok());
    ASSERT_TRUE(service_->updateCode("f", appZip("v2"), "", true).ok());
    ASSERT_TRUE(service_->updateCode("f", appZip("v3"), "", false).ok());  // $LATEST only
  }

  static store::AliasRecord alias(std::string name, std::string version,
                                  std::map<std::string, double> weights = {}) {
    store::AliasRecord a;
    a.function = "f";
    a.name = std::move(name);
    a.function_version = std::move(version);
    a.additional_weights = std::move(weights);
    return a;
  }
};

TEST_F(FunctionServiceAliasTest, AliasNamesFollowLambdasRules) {
  for (std::string name :
       {std::string(), std::string("123"), std::string(129, 'a'), std::string("a.b"),
        std::string("$LATEST"), std::string("a b"), std::string("l\xc3\xa9")}) {
    auto out = service_->createAlias(alias(name, "1"));
    ASSERT_FALSE(out.ok()) << name;
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument) << name;
    EXPECT_THAT(out.error().message, HasSubstr("alias name"));
    EXPECT_THAT(out.error().message, HasSubstr("allowed: 1 to 128 characters"));
  }
  for (std::string name :
       {std::string("live"), std::string("v-1_x"), std::string("1a"), std::string(128, 'b')}) {
    auto out = service_->createAlias(alias(name, "1"));
    EXPECT_TRUE(out.ok()) << name << ": " << out.error().message;
  }
  EXPECT_EQ(service_->listAliases("f")->size(), 4u);
}

TEST_F(FunctionServiceAliasTest, RoutingConfigsFollowLambdasRules) {
  struct Case {
    store::AliasRecord alias;
    std::string message;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Case> cases = {
      {alias("a", "1", {{"2", 0.1}, {"3", 0.1}}), "at most 1"},
      {alias("a", "1", {{"2", 1.5}}), "allowed: 0.0 to 1.0"},
      {alias("a", "1", {{"2", -0.1}}), "allowed: 0.0 to 1.0"},
      {alias("a", "1", {{"2", nan}}), "allowed: 0.0 to 1.0"},
      {alias("a", "1", {{"1", 0.5}}), "already the alias's own version"},
      {alias("a", "1", {{"$LATEST", 0.5}}), "cannot take weighted traffic"},
      {alias("a", "$LATEST", {{"1", 0.5}}), "points to $LATEST"},
      {alias("a", "latest"), "allowed: $LATEST or the number of a published version"},
      {alias("a", "01"), "is not a version"},
  };
  for (const Case& c : cases) {
    auto out = service_->createAlias(c.alias);
    ASSERT_FALSE(out.ok()) << c.message;
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument) << c.message;
    EXPECT_THAT(out.error().message, HasSubstr(c.message));
  }
  EXPECT_TRUE(service_->listAliases("f")->empty());

  auto canary = service_->createAlias(alias("canary", "1", {{"2", 0.3}}));
  ASSERT_TRUE(canary.ok()) << canary.error().message;
  EXPECT_TRUE(service_->createAlias(alias("edge", "1", {{"2", 0.0}})).ok());
  EXPECT_TRUE(service_->createAlias(alias("all", "1", {{"2", 1.0}})).ok());
  // The same rules on update.
  auto bad_update = service_->updateAlias(alias("canary", "1", {{"2", 2.0}}), "");
  ASSERT_FALSE(bad_update.ok());
  EXPECT_EQ(bad_update.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(*service_->getAlias("f", "canary"), *canary);
}

TEST_F(FunctionServiceAliasTest, AliasesCreateGetListUpdateDelete) {
  auto live = service_->createAlias(alias("live", "1"));
  ASSERT_TRUE(live.ok()) << live.error().message;
  EXPECT_FALSE(live->revision_id.empty());
  EXPECT_EQ(service_->createAlias(alias("live", "2")).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(service_->createAlias(alias("other", "9")).error().code, ErrorCode::kNotFound);

  auto stale = service_->updateAlias(alias("live", "2"), "stale");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  auto updated = service_->updateAlias(alias("live", "2"), live->revision_id);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->function_version, "2");
  EXPECT_EQ(*service_->getAlias("f", "live"), *updated);
  ASSERT_EQ(service_->listAliases("f")->size(), 1u);

  Status in_use = service_->deleteVersion("f", "2");
  ASSERT_FALSE(in_use.ok());
  EXPECT_EQ(in_use.error().code, ErrorCode::kAlreadyExists);
  EXPECT_THAT(in_use.error().message, HasSubstr("\"live\""));

  ASSERT_TRUE(service_->deleteAlias("f", "live").ok());
  EXPECT_EQ(service_->getAlias("f", "live").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(service_->deleteVersion("f", "2").ok());
}

// --- Resolving qualifiers ----------------------------------------------------------------------

TEST_F(FunctionServiceAliasTest, ResolveLatestVersionsAndAliases) {
  store::FunctionRecord latest = *service_->get("f");
  EXPECT_EQ(*service_->resolve("f", "", 0.5), latest);
  EXPECT_EQ(*service_->resolve("f", "$LATEST", 0.5), latest);
  auto one = service_->resolve("f", "1", 0.5);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->version, "1");
  EXPECT_EQ(readFile(*service_->codeDir(*one) / "app.py"), "v1");

  ASSERT_TRUE(service_->createAlias(alias("live", "2")).ok());
  ASSERT_TRUE(service_->createAlias(alias("dev", "$LATEST")).ok());
  EXPECT_EQ(service_->resolve("f", "live", 0.5)->version, "2");
  EXPECT_EQ(service_->resolve("f", "dev", 0.5)->version, "$LATEST");

  auto missing_version = service_->resolve("f", "7", 0.5);
  ASSERT_FALSE(missing_version.ok());
  EXPECT_EQ(missing_version.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing_version.error().message, HasSubstr("\"7\""));
  auto missing_alias = service_->resolve("f", "prod", 0.5);
  ASSERT_FALSE(missing_alias.ok());
  EXPECT_EQ(missing_alias.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing_alias.error().message, HasSubstr("\"prod\""));
  auto missing_function = service_->resolve("nope", "", 0.5);
  ASSERT_FALSE(missing_function.ok());
  EXPECT_EQ(missing_function.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing_function.error().message, HasSubstr("\"nope\""));
}

TEST_F(FunctionServiceAliasTest, ResolveSplitsTrafficByTheWeight) {
  ASSERT_TRUE(service_->createAlias(alias("canary", "1", {{"2", 0.3}})).ok());
  // Draws below the weight go to the additional version, the rest to the alias's own.
  for (double draw : {0.0, 0.1, 0.2999})
    EXPECT_EQ(service_->resolve("f", "canary", draw)->version, "2") << draw;
  for (double draw : {0.3, 0.5, 0.9999})
    EXPECT_EQ(service_->resolve("f", "canary", draw)->version, "1") << draw;

  ASSERT_TRUE(service_->updateAlias(alias("canary", "1", {{"2", 0.0}}), "").ok());
  EXPECT_EQ(service_->resolve("f", "canary", 0.0)->version, "1");
  ASSERT_TRUE(service_->updateAlias(alias("canary", "1", {{"2", 1.0}}), "").ok());
  EXPECT_EQ(service_->resolve("f", "canary", 0.9999)->version, "2");

  // Over many evenly spread draws, the share matches the weight.
  ASSERT_TRUE(service_->updateAlias(alias("canary", "1", {{"2", 0.25}}), "").ok());
  int to_two = 0;
  constexpr int kDraws = 200;
  for (int i = 0; i < kDraws; ++i)
    to_two += service_->resolve("f", "canary", (i + 0.5) / kDraws)->version == "2";
  EXPECT_EQ(to_two, kDraws / 4);
}

// --- Reserved and provisioned concurrency ------------------------------------------------------

TEST_F(FunctionServiceTest, ReservationsLeaveAtLeastOneHundredUnreserved) {
  for (const char* name : {"a", "b", "c"})
    ASSERT_TRUE(service_->deploy(request(name, appZip("x"))).ok());
  auto a = service_->setReservedConcurrency("a", 500);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->reserved_concurrency, std::optional<int>(500));
  EXPECT_EQ(service_->get("a")->reserved_concurrency, std::optional<int>(500));
  ASSERT_TRUE(service_->setReservedConcurrency("b", 400).ok());  // 900 reserved: the maximum

  auto over = service_->setReservedConcurrency("c", 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(over.error().message, HasSubstr("other functions reserve 900 of the account's 1000"));
  EXPECT_THAT(over.error().message, HasSubstr("at least 100 must stay unreserved"));
  EXPECT_THAT(over.error().message, HasSubstr("allowed: at most 0"));
  EXPECT_EQ(service_->get("c")->reserved_concurrency, std::nullopt);

  auto b_more = service_->setReservedConcurrency("b", 401);
  ASSERT_FALSE(b_more.ok());
  EXPECT_THAT(b_more.error().message, HasSubstr("allowed: at most 400"));
  // A function's own reservation does not count against it.
  EXPECT_TRUE(service_->setReservedConcurrency("b", 400).ok());
  EXPECT_TRUE(service_->setReservedConcurrency("b", 100).ok());
  EXPECT_TRUE(service_->setReservedConcurrency("c", 300).ok());

  // Removing a reservation frees it; deploys and configuration updates are held to the rule too.
  auto removed = service_->setReservedConcurrency("a", std::nullopt);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->reserved_concurrency, std::nullopt);
  DeployRequest greedy = request("d", appZip("x"));
  greedy.config.reserved_concurrency = 501;
  EXPECT_EQ(service_->deploy(greedy).error().code, ErrorCode::kInvalidArgument);
  greedy.config.reserved_concurrency = 500;
  EXPECT_TRUE(service_->deploy(greedy).ok());
  auto via_config = service_->updateConfiguration(
      "a",
      [](FunctionConfig& c) {
        c.reserved_concurrency = 1;
        return okStatus();
      },
      "");
  ASSERT_FALSE(via_config.ok());
  EXPECT_EQ(via_config.error().code, ErrorCode::kInvalidArgument);

  for (int bad : {-1, 1001}) {
    auto out = service_->setReservedConcurrency("a", bad);
    ASSERT_FALSE(out.ok()) << bad;
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(out.error().message, HasSubstr("reserved_concurrency"));
  }
  EXPECT_EQ(service_->setReservedConcurrency("nope", 1).error().code, ErrorCode::kNotFound);
}

TEST_F(FunctionServiceAliasTest, ProvisionedConcurrencyNeedsAPublishedQualifier) {
  ASSERT_TRUE(service_->createAlias(alias("live", "2")).ok());
  ASSERT_TRUE(service_->createAlias(alias("dev", "$LATEST")).ok());

  for (std::string qualifier : {std::string(), std::string("$LATEST"), std::string("dev")}) {
    auto out = service_->putProvisionedConfig("f", qualifier, 1);
    ASSERT_FALSE(out.ok()) << qualifier;
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument) << qualifier;
    EXPECT_THAT(out.error().message, HasSubstr("$LATEST"));
  }
  EXPECT_EQ(service_->putProvisionedConfig("f", "7", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->putProvisionedConfig("f", "prod", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->putProvisionedConfig("nope", "1", 1).error().code, ErrorCode::kNotFound);
  for (int bad : {0, -1, 1001}) {
    auto out = service_->putProvisionedConfig("f", "1", bad);
    ASSERT_FALSE(out.ok()) << bad;
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(out.error().message, HasSubstr("allowed: 1 to 1000"));
  }
  EXPECT_TRUE(service_->listProvisionedConfigs("f")->empty());

  auto on_version = service_->putProvisionedConfig("f", "1", 2);
  ASSERT_TRUE(on_version.ok()) << on_version.error().message;
  EXPECT_EQ(on_version->requested, 2);
  auto on_alias = service_->putProvisionedConfig("f", "live", 3);
  ASSERT_TRUE(on_alias.ok()) << on_alias.error().message;
  EXPECT_EQ(*service_->getProvisionedConfig("f", "live"), *on_alias);
  auto list = service_->listProvisionedConfigs("f");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], *on_version);
  EXPECT_EQ(service_->listProvisionedConfigs("")->size(), 2u);

  ASSERT_TRUE(service_->deleteProvisionedConfig("f", "1").ok());
  EXPECT_EQ(service_->getProvisionedConfig("f", "1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->deleteProvisionedConfig("f", "1").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(service_->remove("f").ok());
  EXPECT_TRUE(service_->listProvisionedConfigs("")->empty());
}

TEST_F(FunctionServiceAliasTest, ProvisionedConcurrencyFitsInTheReservation) {
  ASSERT_TRUE(service_->createAlias(alias("live", "2")).ok());
  ASSERT_TRUE(service_->setReservedConcurrency("f", 5).ok());
  ASSERT_TRUE(service_->putProvisionedConfig("f", "1", 3).ok());
  auto over = service_->putProvisionedConfig("f", "live", 3);  // 3 + 3 > 5
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(over.error().message, HasSubstr("reserved concurrency"));
  EXPECT_TRUE(service_->putProvisionedConfig("f", "live", 2).ok());
  EXPECT_TRUE(service_->putProvisionedConfig("f", "1", 3).ok());  // replacing is not adding
  ASSERT_TRUE(service_->setReservedConcurrency("f", std::nullopt).ok());
  auto pool = service_->putProvisionedConfig("f", "live", 1000 - 100 - 3 + 1);
  ASSERT_FALSE(pool.ok());
  EXPECT_THAT(pool.error().message, HasSubstr("unreserved pool"));
}

}  // namespace
}  // namespace gust::control
