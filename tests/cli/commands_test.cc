// Argument parsing and validation of the subcommands: what CLI11 refuses before any request.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/cli.h"

namespace gust::cli {
namespace {

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest() {
    app_.require_subcommand(1);
    addClientCommands(app_);
  }
  // Parses `line`; returns the CLI11 error's name, or "" when it parsed (and ran).
  std::string parse(const std::string& line) {
    try {
      app_.parse(line);
    } catch (const CLI::RuntimeError& e) {
      return "RuntimeError:" + std::to_string(e.get_exit_code());
    } catch (const CLI::ParseError& e) {
      return e.get_name();
    }
    return "";
  }
  CLI::App app_{"gust"};
};

TEST_F(CommandsTest, RequiredArgumentsAndSubcommands) {
  EXPECT_EQ(parse("invoke"), "RequiredError");
  EXPECT_EQ(parse("alias"), "RequiredError");
  EXPECT_EQ(parse("alias create f live"), "RequiredError");  // --version
  EXPECT_EQ(parse("concurrency"), "RequiredError");
  EXPECT_EQ(parse("concurrency reserved set f"), "RequiredError");
  EXPECT_EQ(parse("concurrency provisioned set f 2"), "RequiredError");  // --qualifier
  EXPECT_EQ(parse("concurrency provisioned rm f"), "RequiredError");
  EXPECT_EQ(parse("credentials"), "RequiredError");
  EXPECT_EQ(parse("credentials revoke"), "RequiredError");
  EXPECT_EQ(parse("generate-event"), "RequiredError");
  EXPECT_EQ(parse("init"), "RequiredError");
}

TEST_F(CommandsTest, OptionsThatExcludeEachOther) {
  EXPECT_EQ(parse("invoke f --payload {} --file event.json"), "ExcludesError");
  EXPECT_EQ(parse("invoke f --async --tail"), "ExcludesError");
}

TEST_F(CommandsTest, ValuesOutsideTheirChoicesOrRanges) {
  EXPECT_EQ(parse("ls --output yaml"), "ValidationError");
  EXPECT_EQ(parse("describe f -o xml"), "ValidationError");
  EXPECT_EQ(parse("init d --runtime ruby3.2"), "ValidationError");
  EXPECT_EQ(parse("generate-event s3"), "ValidationError");
  EXPECT_EQ(parse("completion zsh"), "ValidationError");
  EXPECT_EQ(parse("concurrency provisioned set f 0 -q 1"), "ValidationError");
  EXPECT_EQ(parse("concurrency reserved set f many"), "ValidationError");
}

TEST_F(CommandsTest, InputIsCheckedBeforeTheServerIsAsked) {
  // Nothing listens on port 1: these fail on their input, with the usage exit code.
  EXPECT_EQ(parse("invoke f --payload {bad --endpoint http://127.0.0.1:1"),
            "RuntimeError:" + std::to_string(kExitError));
  EXPECT_EQ(parse("alias create f live --version 1 --weight 2=3 --endpoint http://127.0.0.1:1"),
            "RuntimeError:" + std::to_string(kExitError));
  EXPECT_EQ(parse("logs f --since yesterday --endpoint http://127.0.0.1:1"),
            "RuntimeError:" + std::to_string(kExitError));
}

TEST_F(CommandsTest, CompletionPrintsTheScript) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(parse("completion bash"), "");
  std::fflush(stdout);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("complete -o filenames -F _gust gust"), std::string::npos);
}

}  // namespace
}  // namespace gust::cli
