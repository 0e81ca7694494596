// gust publish NAME: Lambda's PublishVersion — freezes $LATEST's code and configuration as a
// numbered version.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/json_util.h"
#include "cli/lambda_shapes.h"
#include "cli/output.h"

namespace gust::cli {
namespace {

namespace json = boost::json;

struct PublishArgs {
  ClientOptions client;
  std::string name;
  std::string description;
  OutputFormat output = OutputFormat::kTable;
};

int runPublish(const PublishArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  json::object body;
  if (!args.description.empty()) body["Description"] = args.description;
  auto res = client->call("POST", lambdaFunctionPath(args.name) + "/versions",
                          json::serialize(body), std::chrono::seconds(60));
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  json::object version = versionFromLambda(*answer);
  if (args.output == OutputFormat::kJson) {
    printJson(version);
    return kExitOk;
  }
  fmt::print("Published {} version {} (code sha256 {})\n", args.name,
             stringField(version, "version"), stringField(version, "code_sha256").substr(0, 12));
  fmt::print(stderr,
             "Point an alias at it: gust alias create {} live --version {}; invoke it: gust "
             "invoke {} --qualifier {}\n",
             args.name, stringField(version, "version"), args.name,
             stringField(version, "version"));
  return kExitOk;
}

}  // namespace

void addPublishCommand(CLI::App& app) {
  auto args = std::make_shared<PublishArgs>();
  auto* cmd = app.add_subcommand(
      "publish", "Publish $LATEST as a new numbered version (an immutable snapshot)");
  cmd->add_option("name", args->name, "Function name")->required();
  cmd->add_option("--description,-d", args->description, "Description of the version");
  addOutputOption(*cmd, args->output);
  addClientOptions(*cmd, args->client);
  cmd->footer(
      "If $LATEST has not changed since the newest version, that version is returned (as Lambda "
      "does).");
  onRun(*cmd, [args] { return runPublish(*args); });
}

}  // namespace gust::cli
