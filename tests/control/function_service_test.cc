#include "control/function_service.h"

#include <atomic>
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

}  // namespace
}  // namespace gust::control
