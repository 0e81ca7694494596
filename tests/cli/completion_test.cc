#include "cli/completion.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "cli/cli.h"

namespace gust::cli {
namespace {

namespace fs = std::filesystem;

class CompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    addClientCommands(app_);
    script_ = bashCompletionScript(app_);
    file_ = fs::path(::testing::TempDir()) /
            ("gust-completion-" + std::to_string(::getpid()) + ".bash");
    std::ofstream(file_) << script_;
  }
  void TearDown() override { fs::remove(file_); }

  // What bash completes for the command line `words` (the last word is the one being typed;
  // '' for an empty one).
  std::set<std::string> complete(const std::string& words) {
    fs::path driver = fs::path(::testing::TempDir()) /
                      ("gust-completion-driver-" + std::to_string(::getpid()) + ".bash");
    std::ofstream(driver) << "source " << file_.string() << "\nCOMP_WORDS=(" << words
                          << ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_gust\n"
                          << "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    std::set<std::string> out;
    FILE* pipe = ::popen(("bash " + driver.string()).c_str(), "r");
    if (!pipe) return out;
    char line[512];
    while (std::fgets(line, sizeof line, pipe)) {
      std::string s(line);
      if (!s.empty() && s.back() == '\n') s.pop_back();
      if (!s.empty()) out.insert(s);
    }
    EXPECT_EQ(::pclose(pipe), 0) << words;
    fs::remove(driver);
    return out;
  }

  CLI::App app_{"gust"};
  std::string script_;
  fs::path file_;
};

TEST_F(CompletionTest, ScriptNamesEveryCommandAndRegistersItself) {
  for (const char* command :
       {"init", "deploy", "invoke", "logs", "ls", "describe", "rm", "publish", "alias",
        "concurrency", "credentials", "schedule", "topic", "generate-event", "completion"}) {
    EXPECT_NE(script_.find(command), std::string::npos) << command;
  }
  EXPECT_NE(script_.find("complete -o filenames -F _gust gust"), std::string::npos);
  EXPECT_NE(script_.find("[\"gust concurrency provisioned\"]=\"set get rm\""), std::string::npos);
}

TEST_F(CompletionTest, CompletesCommandsSubcommandsAndFlags) {
  EXPECT_TRUE(complete("gust de").count("deploy"));
  EXPECT_TRUE(complete("gust de").count("describe"));
  EXPECT_FALSE(complete("gust de").count("invoke"));
  EXPECT_EQ(complete("gust alias ''"),
            (std::set<std::string>{"create", "update", "get", "ls", "rm"}));
  EXPECT_EQ(complete("gust concurrency ''"), (std::set<std::string>{"reserved", "provisioned"}));
  auto invoke_flags = complete("gust invoke f --");
  for (const char* flag : {"--payload", "--file", "--qualifier", "--async", "--tail", "--output",
                           "--endpoint", "--data-dir", "--help"}) {
    EXPECT_TRUE(invoke_flags.count(flag)) << flag;
  }
  auto weight = complete("gust alias create f live --w");
  EXPECT_EQ(weight, (std::set<std::string>{"--weight"}));
}

TEST_F(CompletionTest, CompletesTheChoicesOfOptionsAndArguments) {
  EXPECT_EQ(complete("gust ls --output ''"), (std::set<std::string>{"table", "json"}));
  EXPECT_EQ(complete("gust describe f -o j"), (std::set<std::string>{"json"}));
  EXPECT_EQ(complete("gust init dir --runtime ''"),
            (std::set<std::string>{"python3.11", "nodejs20.x", "provided"}));
  EXPECT_EQ(complete("gust generate-event api"),
            (std::set<std::string>{"apigateway-v1", "apigateway-v2"}));
  EXPECT_EQ(complete("gust completion ''"), (std::set<std::string>{"bash"}));
}

}  // namespace
}  // namespace gust::cli
