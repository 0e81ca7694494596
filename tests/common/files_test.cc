#include "common/files.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

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

TEST(FilesTest, MissingFileNamesThePath) {
  auto r = readFile("/nonexistent/gust/file");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/gust/file"), std::string::npos);
}

}  // namespace
}  // namespace gust
