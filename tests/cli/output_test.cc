#include "cli/output.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/lambda_shapes.h"

namespace gust::cli {
namespace {

namespace json = boost::json;

TEST(TableTest, PadsColumnsToTheWidestCellWithoutTrailingSpaces) {
  Table table({"NAME", "RUNTIME", "MEMORY"});
  table.addRow({"hello-python", "python3.11", "128 MB"});
  table.addRow({"f", "provided"});  // a short row gets empty cells
  EXPECT_EQ(table.rowCount(), 2u);
  EXPECT_EQ(table.render(),
            "NAME          RUNTIME     MEMORY\n"
            "hello-python  python3.11  128 MB\n"
            "f             provided\n");
}

TEST(TableTest, AnEmptyTableIsItsHeader) { EXPECT_EQ(Table({"A", "B"}).render(), "A  B\n"); }

TEST(RenderFieldsTest, AlignsValues) {
  EXPECT_EQ(renderFields({{"Name", "f"}, {"Reserved concurrency", "5"}, {"Empty", ""}}),
            "Name:                  f\n"
            "Reserved concurrency:  5\n"
            "Empty:\n");
}

TEST(HumanBytesTest, PicksAUnit) {
  EXPECT_EQ(humanBytes(0), "0 B");
  EXPECT_EQ(humanBytes(1023), "1023 B");
  EXPECT_EQ(humanBytes(1536), "1.5 KB");
  EXPECT_EQ(humanBytes(3 * 1024 * 1024 + 200 * 1024), "3.2 MB");
}

TEST(OutputOptionTest, TableByDefaultJsonOnRequestAnythingElseRefused) {
  OutputFormat format = OutputFormat::kTable;
  CLI::App app;
  addOutputOption(app, format);
  app.parse(std::vector<std::string>{});
  EXPECT_EQ(format, OutputFormat::kTable);
  app.parse(std::vector<std::string>{"json", "--output"});  // CLI11 takes argv reversed
  EXPECT_EQ(format, OutputFormat::kJson);
  format = OutputFormat::kTable;
  app.parse(std::vector<std::string>{"json", "-o"});
  EXPECT_EQ(format, OutputFormat::kJson);
  EXPECT_THROW(app.parse(std::vector<std::string>{"yaml", "-o"}), CLI::ValidationError);
}

TEST(LambdaShapesTest, AliasWithWeightsBecomesSnakeCaseAndARoutingLine) {
  auto alias = aliasFromLambda(json::parse(R"({
      "AliasArn": "arn:aws:lambda:us-east-1:000000000000:function:hello:live",
      "Name": "live", "FunctionVersion": "1", "Description": "prod",
      "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.125}}, "RevisionId": "r1"})")
                                   .as_object());
  EXPECT_EQ(alias, json::parse(R"({"function": "hello", "name": "live", "function_version": "1",
      "description": "prod", "weights": {"2": 0.125}, "revision_id": "r1"})"));
  EXPECT_EQ(describeRouting(alias), "1 + 2 at 12.5%");
  alias["weights"] = json::object{{"3", 0.1}};
  EXPECT_EQ(describeRouting(alias), "1 + 3 at 10%");
  alias["weights"] = json::object();
  EXPECT_EQ(describeRouting(alias), "1");
}

TEST(LambdaShapesTest, VersionCarriesTheHexSha) {
  auto version = versionFromLambda(json::parse(R"({"FunctionName": "hello", "Version": "2",
      "CodeSha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "CodeSize": 10,
      "Description": "", "LastModified": "t", "RevisionId": "r"})")
                                       .as_object());
  EXPECT_EQ(version.at("version"), "2");
  EXPECT_EQ(version.at("code_sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(version.at("code_size"), 10);
  EXPECT_EQ(hexFromBase64("not base64!"), "");
}

TEST(LambdaShapesTest, ProvisionedConfigTakesItsQualifierFromTheArn) {
  auto config = provisionedFromLambda(
      json::parse(R"({"FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:hello:live",
          "RequestedProvisionedConcurrentExecutions": 2,
          "AvailableProvisionedConcurrentExecutions": 1,
          "AllocatedProvisionedConcurrentExecutions": 1, "Status": "IN_PROGRESS",
          "LastModified": "t"})")
          .as_object());
  EXPECT_EQ(config.at("qualifier"), "live");
  EXPECT_EQ(config.at("requested"), 2);
  EXPECT_EQ(config.at("available"), 1);
  EXPECT_EQ(config.at("status"), "IN_PROGRESS");
  // A single config (GetProvisionedConcurrencyConfig) has no ARN: the caller names it.
  EXPECT_EQ(provisionedFromLambda(json::object{{"Status", "READY"}}, "3").at("qualifier"), "3");
}

}  // namespace
}  // namespace gust::cli
