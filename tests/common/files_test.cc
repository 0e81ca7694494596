#include "common/files.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace gust {
namespace {

TEST(FilesTest, WriteAtomicThenRead) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "files_test";
  std::filesystem::create_directories(dir);
  auto p = dir / "token";
  ASSERT_TRUE(writeFileAtomic(p, "hello", 0600).ok());
  auto r = readFile(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "hello");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

TEST(FilesTest, KeyFileIsCreatedOnceWithMode0600) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "key_file_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto p = dir / "credentials.key";
  auto created = loadOrCreateKeyFile(p, 32);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto again = loadOrCreateKeyFile(p, 32);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *created);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);
  std::filesystem::remove_all(dir);
}

TEST(FilesTest, KeyFileRacesAgreeOnOneKey) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "key_file_race";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto p = dir / "k";
  std::vector<std::string> keys(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < keys.size(); ++i)
    threads.emplace_back([&, i] {
      auto k = loadOrCreateKeyFile(p, 32);
      if (k.ok()) keys[i] = *k;
    });
  for (auto& t : threads) t.join();
  for (const auto& k : keys) EXPECT_EQ(k, keys[0]);
  EXPECT_EQ(keys[0].size(), 32u);
  std::filesystem::remove_all(dir);
}

TEST(FilesTest, KeyFileRefusesBadFiles) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "key_file_bad";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(writeFileAtomic(dir / "short", "abc", 0600).ok());
  auto short_key = loadOrCreateKeyFile(dir / "short", 32);
  ASSERT_FALSE(short_key.ok());
  EXPECT_NE(short_key.error().message.find("not 32 bytes"), std::string::npos);
  ASSERT_TRUE(writeFileAtomic(dir / "long", std::string(33, 'k'), 0600).ok());
  EXPECT_FALSE(loadOrCreateKeyFile(dir / "long", 32).ok());
  ASSERT_TRUE(writeFileAtomic(dir / "open", std::string(32, 'k'), 0644).ok());
  auto readable = loadOrCreateKeyFile(dir / "open", 32);
  ASSERT_FALSE(readable.ok());
  EXPECT_NE(readable.error().message.find("chmod 600"), std::string::npos);
  std::filesystem::create_symlink(dir / "short", dir / "link");
  EXPECT_FALSE(loadOrCreateKeyFile(dir / "link", 32).ok());
  EXPECT_FALSE(loadOrCreateKeyFile(dir / "missing-dir" / "k", 32).ok());
  std::filesystem::remove_all(dir);
}

TEST(FilesTest, MissingFileNamesThePath) {
  auto r = readFile("/nonexistent/gust/file");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/gust/file"), std::string::npos);
}

}  // namespace
}  // namespace gust
