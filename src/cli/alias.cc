// gust alias create|update|get|ls|rm: Lambda's aliases — a name for a version, optionally
// sending a share of its invocations to a second version (--weight VERSION=WEIGHT).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <fmt/format.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/json_util.h"
#include "cli/lambda_shapes.h"
#include "cli/output.h"

namespace gust::cli {
namespace {

namespace json = boost::json;

constexpr std::chrono::seconds kTimeout{30};

struct AliasArgs {
  ClientOptions client;
  std::string function;
  std::string alias;
  std::string version;
  std::vector<std::string> weights;
  bool clear_weights = false;
  std::string description;
  bool has_description = false;
  OutputFormat output = OutputFormat::kTable;
};

std::string aliasPath(const AliasArgs& args) {
  return lambdaFunctionPath(args.function) + "/aliases/" + http::encodePathSegment(args.alias);
}

int printAlias(const AliasArgs& args, const http::Response& res, std::string_view verb) {
  auto answer = parseObject(res.body);
  if (!answer) return reportError(answer.error());
  json::object alias = aliasFromLambda(*answer);
  if (args.output == OutputFormat::kJson) {
    printJson(alias);
    return kExitOk;
  }
  if (!verb.empty()) fmt::print("{} alias {}:{}\n", verb, args.function, args.alias);
  fmt::print("{}", renderFields({{"Alias", stringField(alias, "name")},
                                 {"Function", args.function},
                                 {"Version", describeRouting(alias)},
                                 {"Description", stringField(alias, "description")},
                                 {"Revision id", stringField(alias, "revision_id")}}));
  return kExitOk;
}

// The body of CreateAlias (`create`) or UpdateAlias: only the fields given.
Result<json::object> aliasBody(const AliasArgs& args, bool create) {
  json::object body;
  if (create) body["Name"] = args.alias;
  if (!args.version.empty()) body["FunctionVersion"] = args.version;
  if (args.has_description) body["Description"] = args.description;
  GUST_ASSIGN_OR_RETURN(auto weights, parseWeights(args.weights));
  if (!weights.empty() || args.clear_weights) {
    json::object additional;
    for (const auto& [version, weight] : weights) additional[version] = weight;
    body["RoutingConfig"] = json::object{{"AdditionalVersionWeights", std::move(additional)}};
  }
  return body;
}

int runCreate(const AliasArgs& args) {
  auto body = aliasBody(args, true);
  if (!body) return reportError(body.error());
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("POST", lambdaFunctionPath(args.function) + "/aliases",
                          json::serialize(*body), kTimeout);
  if (!res) return reportError(res.error());
  return printAlias(args, *res, "Created");
}

int runUpdate(const AliasArgs& args) {
  auto body = aliasBody(args, false);
  if (!body) return reportError(body.error());
  if (body->empty()) {
    return reportError(Error::invalid(
        "nothing to change: give --version, --weight, --no-weights or --description"));
  }
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("PUT", aliasPath(args), json::serialize(*body), kTimeout);
  if (!res) return reportError(res.error());
  return printAlias(args, *res, "Updated");
}

int runGet(const AliasArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", aliasPath(args), "", kTimeout);
  if (!res) return reportError(res.error());
  return printAlias(args, *res, "");
}

int runList(const AliasArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  json::array aliases;
  std::string marker;
  // Pages of up to 10 000; bounded so a misbehaving server cannot loop us forever.
  for (int page = 0; page < 1000; ++page) {
    std::string target = lambdaFunctionPath(args.function) + "/aliases?MaxItems=10000";
    if (!marker.empty()) target += "&Marker=" + http::encodePathSegment(marker);
    auto res = client->call("GET", target, "", kTimeout);
    if (!res) return reportError(res.error());
    auto answer = parseObject(res->body);
    if (!answer) return reportError(answer.error());
    for (const auto& a : arrayField(*answer, "Aliases")) {
      if (a.is_object()) aliases.push_back(aliasFromLambda(a.get_object()));
    }
    marker = stringField(*answer, "NextMarker");
    if (marker.empty()) break;
  }
  if (args.output == OutputFormat::kJson) {
    printJson(json::object{{"aliases", std::move(aliases)}});
    return kExitOk;
  }
  Table table({"ALIAS", "VERSION", "DESCRIPTION"});
  for (const auto& a : aliases) {
    const auto& o = a.get_object();
    table.addRow({stringField(o, "name"), describeRouting(o), stringField(o, "description")});
  }
  fmt::print("{}", table.render());
  return kExitOk;
}

int runRemove(const AliasArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", aliasPath(args), "", kTimeout);
  if (!res) return reportError(res.error());
  fmt::print("Deleted alias {}:{}\n", args.function, args.alias);
  return kExitOk;
}

CLI::App* subcommand(CLI::App& parent, const char* name, const char* description,
                     const std::shared_ptr<AliasArgs>& args, bool with_alias, bool prints) {
  auto* cmd =
      addServerCommand(parent, name, description, args->client, prints ? &args->output : nullptr);
  cmd->add_option("function", args->function, "Function name")->required();
  if (with_alias) cmd->add_option("alias", args->alias, "Alias name, e.g. live")->required();
  return cmd;
}

void addRoutingOptions(CLI::App& cmd, AliasArgs& args) {
  cmd.add_option("--weight,-w", args.weights,
                 "VERSION=WEIGHT: send this share (0-1) of the alias's invocations to another "
                 "published version, e.g. --weight 2=0.1")
      ->allow_extra_args(false);
  cmd.add_option_function<std::string>(
      "--description,-d",
      [&args](const std::string& text) {
        args.description = text;
        args.has_description = true;
      },
      "Description of the alias");
}

}  // namespace

void addAliasCommand(CLI::App& app) {
  auto* alias = app.add_subcommand("alias", "Manage aliases: names for versions, with weights");
  alias->require_subcommand(1);

  auto create = std::make_shared<AliasArgs>();
  auto* create_cmd =
      subcommand(*alias, "create", "Create an alias for a version", create, true, true);
  create_cmd->add_option("--version,-v", create->version, "The version it names, e.g. 1")
      ->required();
  addRoutingOptions(*create_cmd, *create);
  onRun(*create_cmd, [create] { return runCreate(*create); });

  auto update = std::make_shared<AliasArgs>();
  auto* update_cmd = subcommand(
      *alias, "update", "Change an alias: its version, weights or description", update, true, true);
  update_cmd->add_option("--version,-v", update->version, "The version it names from now on");
  addRoutingOptions(*update_cmd, *update);
  update_cmd->add_flag("--no-weights", update->clear_weights,
                       "Send every invocation to the alias's version again");
  onRun(*update_cmd, [update] { return runUpdate(*update); });

  auto get = std::make_shared<AliasArgs>();
  auto* get_cmd = subcommand(*alias, "get", "Show an alias", get, true, true);
  onRun(*get_cmd, [get] { return runGet(*get); });

  auto ls = std::make_shared<AliasArgs>();
  auto* ls_cmd = subcommand(*alias, "ls", "List a function's aliases", ls, false, true);
  onRun(*ls_cmd, [ls] { return runList(*ls); });

  auto rm = std::make_shared<AliasArgs>();
  auto* rm_cmd = subcommand(*alias, "rm", "Delete an alias", rm, true, false);
  onRun(*rm_cmd, [rm] { return runRemove(*rm); });
}

}  // namespace gust::cli
