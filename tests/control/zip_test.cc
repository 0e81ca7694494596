#include "control/zip.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto.h"
#include "test_util.h"

namespace gust::control {
namespace {

using ::testing::HasSubstr;
using testing::listDir;
using testing::makeZip;
using testing::readFile;
using testing::ScratchDir;
using testing::writeFile;
using testing::ZipEntry;

struct FileInfo {
  std::string content;
  mode_t mode = 0;
  bool operator==(const FileInfo&) const = default;
};

// Every regular file under `dir` with its bytes and permission bits.
std::map<std::string, FileInfo> snapshot(const std::filesystem::path& dir) {
  std::map<std::string, FileInfo> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    out[e.path().lexically_relative(dir).generic_string()] = {readFile(e.path()),
                                                              st.st_mode & 0777};
  }
  return out;
}

// A small function tree: nested directories, an executable, binary content, and the
// directories zipDirectory must skip.
void makeTree(const std::filesystem::path& dir) {
  writeFile(dir / "app.py", "def handler(event, context):\n    return event\n");
  writeFile(dir / "lib/util/helpers.py", "X = 1\n");
  writeFile(dir / "bin/tool", "#!/bin/sh\necho hi\n");
  ::chmod((dir / "bin/tool").c_str(), 0755);
  writeFile(dir / "data.bin", std::string("\0\1\2\xff\xfe", 5) + std::string(100000, 'z'));
  writeFile(dir / "empty.txt", "");
  writeFile(dir / ".git/HEAD", "ref: refs/heads/main\n");
  writeFile(dir / "lib/__pycache__/helpers.cpython-311.pyc", "bytecode");
}

class ZipTest : public ::testing::Test {
 protected:
  // Extracts `zip` into a fresh `out` and checks that on failure nothing at all is left in the
  // scratch directory (no `out`, no staging directory).
  Status extract(const std::string& zip, ExtractLimits limits = {}) {
    Status s = extractZip(zip, scratch_ / "out", limits);
    if (!s.ok()) {
      EXPECT_THAT(listDir(scratch_.path()), ::testing::IsEmpty()) << s.error().message;
    }
    return s;
  }

  ScratchDir scratch_;
};

TEST_F(ZipTest, RoundTripKeepsTreeBytesAndModes) {
  ScratchDir src;
  makeTree(src.path());
  auto zip = zipDirectory(src.path());
  ASSERT_TRUE(zip.ok()) << zip.error().message;
  Status s = extract(*zip);
  ASSERT_TRUE(s.ok()) << s.error().message;

  auto got = snapshot(scratch_ / "out");
  EXPECT_EQ(got.size(), 5u);
  EXPECT_EQ(got.count(".git/HEAD"), 0u);
  EXPECT_EQ(got.count("lib/__pycache__/helpers.cpython-311.pyc"), 0u);
  auto want = snapshot(src.path());
  want.erase(".git/HEAD");
  want.erase("lib/__pycache__/helpers.cpython-311.pyc");
  EXPECT_EQ(got, want);
  EXPECT_EQ(got["bin/tool"].mode, 0755u);
  EXPECT_EQ(got["app.py"].mode, 0644u);
  struct stat st {};
  ASSERT_EQ(::stat((scratch_ / "out").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST_F(ZipTest, SameTreeGivesSameBytes) {
  ScratchDir a;
  makeTree(a.path());
  auto first = zipDirectory(a.path());
  ASSERT_TRUE(first.ok());
  // Different timestamps and creation order must not change the archive.
  ScratchDir b;
  writeFile(b / "empty.txt", "");
  writeFile(b / "data.bin", readFile(a / "data.bin"));
  makeTree(b.path());
  std::filesystem::last_write_time(
      b / "app.py", std::filesystem::last_write_time(a / "app.py") - std::chrono::hours(1000));
  auto second = zipDirectory(b.path());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(sha256Hex(*first), sha256Hex(*second));
  auto again = zipDirectory(a.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  // And a content change does change it.
  writeFile(a / "app.py", "changed");
  EXPECT_NE(*zipDirectory(a.path()), *first);
}

TEST_F(ZipTest, SymlinksInsideAreFollowedAndOutsideRejected) {
  ScratchDir src;
  writeFile(src / "real.py", "x = 1\n");
  ASSERT_EQ(::symlink("real.py", (src / "alias.py").c_str()), 0);
  auto zip = zipDirectory(src.path());
  ASSERT_TRUE(zip.ok()) << zip.error().message;
  ASSERT_TRUE(extract(*zip).ok());
  EXPECT_EQ(readFile(scratch_ / "out/alias.py"), "x = 1\n");

  ScratchDir outside;
  writeFile(outside / "secret", "s");
  ASSERT_EQ(::symlink((outside / "secret").c_str(), (src / "leak").c_str()), 0);
  auto bad = zipDirectory(src.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("symlink \"leak\" points outside the directory"));
}

TEST_F(ZipTest, ZipDirectoryRejectsAMissingDirectory) {
  auto zip = zipDirectory(scratch_ / "nope");
  ASSERT_FALSE(zip.ok());
  EXPECT_EQ(zip.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(zip.error().message, HasSubstr("not a directory"));
}

TEST_F(ZipTest, ZipDirectoryRejectsCodeOverTheZippedLimit) {
  ScratchDir src;
  // Incompressible bytes just over the limit.
  std::string big(kMaxZipBytes + 4096, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= big.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(big.data() + i, &v, 8);
  }
  writeFile(src / "big.bin", big);
  auto zip = zipDirectory(src.path());
  ASSERT_FALSE(zip.ok());
  EXPECT_EQ(zip.error().code, ErrorCode::kTooLarge);
}

TEST_F(ZipTest, ExtractsHandBuiltZipsWithDirectoriesAndDotComponents) {
  std::string zip = makeZip({{.name = "pkg/", .type = AE_IFDIR, .perm = 0755},
                             {.name = "./pkg/mod.py", .content = "m"},
                             {.name = "run.sh", .content = "#!/bin/sh", .perm = 0700}});
  Status s = extract(zip);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto got = snapshot(scratch_ / "out");
  EXPECT_EQ(got["pkg/mod.py"], (FileInfo{"m", 0644}));
  EXPECT_EQ(got["run.sh"], (FileInfo{"#!/bin/sh", 0755}));
}

// Each hostile zip must be rejected with a message naming the entry and leave nothing behind.
struct HostileCase {
  const char* label;
  std::vector<ZipEntry> entries;
  ErrorCode code;
  const char* message;
};

TEST_F(ZipTest, RejectsHostileZips) {
  const std::vector<HostileCase> cases = {
      {"traversal",
       {{.name = "ok.py", .content = "x"}, {.name = "../../etc/passwd", .content = "root"}},
       ErrorCode::kInvalidArgument,
       "code zip: entry \"../../etc/passwd\" escapes the code directory"},
      {"inner traversal",
       {{.name = "a/../../x", .content = "x"}},
       ErrorCode::kInvalidArgument,
       "escapes the code directory"},
      {"absolute",
       {{.name = "/etc/cron.d/x", .content = "x"}},
       ErrorCode::kInvalidArgument,
       "entry \"/etc/cron.d/x\" is an absolute path"},
      // libarchive turns Windows separators into '/', so this is caught as traversal.
      {"backslash traversal",
       {{.name = "..\\evil", .content = "x"}},
       ErrorCode::kInvalidArgument,
       "escapes the code directory"},
      {"symlink",
       {{.name = "link", .type = AE_IFLNK, .perm = 0777, .link = "/etc/passwd"}},
       ErrorCode::kInvalidArgument,
       "entry \"link\" is a symbolic link"},
      {"symlink then write through it",
       {{.name = "d", .type = AE_IFLNK, .perm = 0777, .link = "/tmp"},
        {.name = "d/x", .content = "x"}},
       ErrorCode::kInvalidArgument,
       "is a symbolic link"},
      {"duplicate",
       {{.name = "app.py", .content = "a"}, {.name = "app.py", .content = "b"}},
       ErrorCode::kInvalidArgument,
       "entry \"app.py\" appears twice"},
      {"duplicate after normalising",
       {{.name = "app.py", .content = "a"}, {.name = "./app.py", .content = "b"}},
       ErrorCode::kInvalidArgument,
       "appears twice"},
      {"file where a directory is needed",
       {{.name = "a", .content = "a"}, {.name = "a/b", .content = "b"}},
       ErrorCode::kInvalidArgument,
       "entry \"a/b\" needs a directory where the zip has a file"},
      // libarchive does not recognise an archive without entries at all.
      {"no entries", {}, ErrorCode::kInvalidArgument, "code zip: cannot read"},
      {"only directories",
       {{.name = "d/", .type = AE_IFDIR, .perm = 0755}},
       ErrorCode::kInvalidArgument,
       "contains no files"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    Status s = extract(makeZip(c.entries));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, c.code);
    EXPECT_THAT(s.error().message, HasSubstr(c.message));
  }
}

TEST_F(ZipTest, StopsAtTheUnzippedSizeLimitCountingWrittenBytes) {
  std::string zip = makeZip({{.name = "a", .content = std::string(600, 'a')},
                             {.name = "b", .content = std::string(600, 'b')}});
  Status s = extract(zip, {.max_unzipped_bytes = 1000, .max_entries = 100});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTooLarge);
  EXPECT_THAT(s.error().message, HasSubstr("exceeds 1000 bytes (at entry \"b\")"));
  // Exactly at the limit is fine.
  ASSERT_TRUE(extract(zip, {.max_unzipped_bytes = 1200, .max_entries = 100}).ok());
}

TEST_F(ZipTest, StopsAZipBomb) {
  // 64 MB of zeros compresses to about 64 KB.
  std::string zip = makeZip({{.name = "bomb", .content = std::string(64 << 20, '\0')}});
  ASSERT_LT(zip.size(), 1u << 20);
  Status s = extract(zip, {.max_unzipped_bytes = 1 << 20, .max_entries = 10});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTooLarge);
}

TEST_F(ZipTest, LimitsTheNumberOfEntries) {
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 11; ++i) entries.push_back({.name = "f" + std::to_string(i), .content = "x"});
  std::string zip = makeZip(entries);
  Status s = extract(zip, {.max_unzipped_bytes = 1 << 20, .max_entries = 10});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTooLarge);
  EXPECT_THAT(s.error().message, HasSubstr("more than 10 entries"));
  ASSERT_TRUE(extract(zip, {.max_unzipped_bytes = 1 << 20, .max_entries = 11}).ok());
}

TEST_F(ZipTest, RejectsInputThatIsNotAZip) {
  for (std::string junk : {std::string(), std::string("hello, world"),
                           std::string("PK\3\4") + std::string(100, '\xff')}) {
    Status s = extract(junk);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << s.error().message;
    EXPECT_THAT(s.error().message, HasSubstr("code zip:"));
  }
}

TEST_F(ZipTest, RejectsTruncatedZips) {
  ScratchDir src;
  makeTree(src.path());
  std::string zip = *zipDirectory(src.path());
  for (size_t cut : {zip.size() / 2, zip.size() - 10, size_t{30}}) {
    Status s = extract(zip.substr(0, cut));
    EXPECT_FALSE(s.ok()) << "cut at " << cut;
    std::filesystem::remove_all(scratch_ / "out");
  }
}

TEST_F(ZipTest, RefusesAnExistingDestination) {
  std::filesystem::create_directory(scratch_ / "out");
  writeFile(scratch_ / "out/keep", "k");
  Status s = extractZip(makeZip({{.name = "a", .content = "x"}}), scratch_ / "out");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(readFile(scratch_ / "out/keep"), "k");
  EXPECT_THAT(listDir(scratch_.path()), ::testing::ElementsAre("out"));
}

}  // namespace
}  // namespace gust::control
