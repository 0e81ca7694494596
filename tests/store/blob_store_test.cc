#include "store/blob_store.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/crypto.h"

namespace gust::store {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "gust-blobs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Every file under the store's root, relative to it.
  std::vector<std::string> allFiles() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "blobs"))
      if (e.is_regular_file()) out.push_back(e.path().lexically_relative(dir_ / "blobs"));
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(BlobStoreTest, OpenCreatesAPrivateRoot) {
  auto blobs = BlobStore::open(dir_ / "blobs");
  ASSERT_TRUE(blobs.ok()) << blobs.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "blobs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(BlobStoreTest, PutStoresUnderTheShaAndGetReturnsTheBytes) {
  auto blobs = BlobStore::open(dir_ / "blobs");
  ASSERT_TRUE(blobs.ok());
  std::string data("zip\0bytes", 9);
  auto sha = blobs->put(data);
  ASSERT_TRUE(sha.ok()) << sha.error().message;
  EXPECT_EQ(*sha, sha256Hex(data));
  EXPECT_EQ(blobs->pathOf(*sha), dir_ / "blobs" / sha->substr(0, 2) / (*sha + ".zip"));
  EXPECT_TRUE(blobs->contains(*sha));
  auto got = blobs->get(*sha);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
}

TEST_F(BlobStoreTest, PutIsIdempotent) {
  auto blobs = BlobStore::open(dir_ / "blobs");
  ASSERT_TRUE(blobs.ok());
  auto first = blobs->put("same");
  auto second = blobs->put("same");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(allFiles().size(), 1u);
  EXPECT_EQ(*blobs->get(*first), "same");
}

TEST_F(BlobStoreTest, MissingBlobIsNotFound) {
  auto blobs = BlobStore::open(dir_ / "blobs");
  ASSERT_TRUE(blobs.ok());
  std::string sha = sha256Hex("never stored");
  EXPECT_FALSE(blobs->contains(sha));
  auto got = blobs->get(sha);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
}

TEST_F(BlobStoreTest, RejectsAddressesThatAreNotSha256Hex) {
  auto blobs = BlobStore::open(dir_ / "blobs");
  ASSERT_TRUE(blobs.ok());
  for (std::string bad :
       {std::string("../../etc/passwd"), std::string(64, 'A'), std::string(63, 'a'),
        std::string(65, 'a'), std::string(), std::string(62, 'a') + "/."}) {
    EXPECT_FALSE(blobs->contains(bad)) << bad;
    EXPECT_TRUE(blobs->pathOf(bad).empty()) << bad;
    auto got = blobs->get(bad);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(got.error().message.find("64 lower-case hex"), std::string::npos);
  }
}

TEST_F(BlobStoreTest, ConcurrentPutsOfTheSameBytesAllSucceed) {
  auto blobs = BlobStore::open(dir_ / "blobs");
  ASSERT_TRUE(blobs.ok());
  std::string data(200000, 'x');
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto sha = blobs->put(data);
        if (!sha.ok() || *sha != sha256Hex(data)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // No staging files are left behind.
  EXPECT_EQ(allFiles().size(), 1u);
  EXPECT_EQ(*blobs->get(sha256Hex(data)), data);
}

}  // namespace
}  // namespace gust::store
