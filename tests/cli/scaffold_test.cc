#include "cli/scaffold.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/files.h"
#include "control/function_config.h"

namespace gust::cli {
namespace {

namespace fs = std::filesystem;

class ScaffoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("cli_scaffold_test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ScaffoldTest, EveryRuntimeGetsAManifestThatDeploysAndItsHandlerFile) {
  struct Case {
    std::string runtime, handler, file;
  };
  for (const auto& [runtime, handler, file] : {Case{"python3.11", "app.handler", "app.py"},
                                               Case{"nodejs20.x", "index.handler", "index.mjs"},
                                               Case{"provided", "function.handler", "bootstrap"}}) {
    SCOPED_TRACE(runtime);
    fs::path dir = dir_ / runtime;
    auto files = scaffoldFiles(runtime, "my-fn");
    ASSERT_TRUE(files.ok()) << files.error().message;
    ASSERT_TRUE(writeScaffold(dir, *files).ok());
    auto manifest = readFile(dir / "gust.yaml");
    ASSERT_TRUE(manifest.ok());
    auto config = control::parseManifest(*manifest, "gust.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->name, "my-fn");
    EXPECT_EQ(config->runtime, runtime);
    EXPECT_EQ(config->handler, handler);
    ASSERT_TRUE(fs::exists(dir / file));
    bool executable =
        (fs::status(dir / file).permissions() & fs::perms::owner_exec) != fs::perms::none;
    EXPECT_EQ(executable, runtime == "provided");
  }
  auto bootstrap = readFile(dir_ / "provided" / "bootstrap");
  EXPECT_NE(bootstrap->find("/2018-06-01/runtime"), std::string::npos);
  EXPECT_NE(bootstrap->find("/invocation/next"), std::string::npos);
  EXPECT_NE(readFile(dir_ / "python3.11" / "app.py")->find("def handler(event, context)"),
            std::string::npos);
}

TEST_F(ScaffoldTest, NeverOverwritesAndWritesNothingWhenAnyFileExists) {
  auto files = scaffoldFiles("python3.11", "fn");
  ASSERT_TRUE(files.ok());
  fs::create_directories(dir_);
  std::ofstream(dir_ / "app.py") << "mine";
  auto st = writeScaffold(dir_, *files);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(st.error().message.find("app.py"), std::string::npos);
  EXPECT_NE(st.error().message.find("never overwrites"), std::string::npos);
  EXPECT_EQ(*readFile(dir_ / "app.py"), "mine");
  EXPECT_FALSE(fs::exists(dir_ / "gust.yaml"));
}

TEST_F(ScaffoldTest, RefusesBadNamesAndRuntimesWithoutATemplate) {
  auto bad_name = scaffoldFiles("python3.11", "has space");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.error().message.find("--name"), std::string::npos);
  auto bad_runtime = scaffoldFiles("ruby3.2", "fn");
  ASSERT_FALSE(bad_runtime.ok());
  EXPECT_NE(bad_runtime.error().message.find("python3.11, nodejs20.x, provided"),
            std::string::npos);
}

}  // namespace
}  // namespace gust::cli
