// gust ls / describe / rm: list, show and delete functions.
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

constexpr std::chrono::seconds kTimeout{30};

struct NameArgs {
  ClientOptions client;
  std::string name;
  OutputFormat output = OutputFormat::kTable;
};

std::string reservedText(const json::object& fn) {
  const auto* reserved = fn.if_contains("reserved_concurrency");
  if (!reserved || !reserved->is_number()) return "unreserved (shares the account's pool)";
  int64_t n = intField(fn, "reserved_concurrency");
  return n == 0 ? "0 (every invocation is throttled)" : fmt::format("{}", n);
}

int runList(const NameArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", "/api/v1/functions", "", kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(json::object{{"functions", arrayField(*answer, "functions")}});
    return kExitOk;
  }
  Table table({"NAME", "RUNTIME", "HANDLER", "MEMORY", "TIMEOUT", "REVISION", "LAST MODIFIED"});
  for (const auto& value : arrayField(*answer, "functions")) {
    if (!value.is_object()) continue;
    const auto& f = value.get_object();
    table.addRow({stringField(f, "name"), stringField(f, "runtime"), stringField(f, "handler"),
                  fmt::format("{} MB", intField(f, "memory")),
                  fmt::format("{} s", intField(f, "timeout")),
                  fmt::format("{}", intField(f, "revision")), stringField(f, "last_modified")});
  }
  fmt::print("{}", table.render());
  if (table.rowCount() == 0)
    fmt::print(stderr,
               "No functions yet: create one with `gust init DIR`, then `gust deploy DIR`\n");
  return kExitOk;
}

// The function with what the Lambda API knows about it: versions, aliases and provisioned
// concurrency configs.
Result<json::object> describe(const Client& client, const std::string& name) {
  GUST_ASSIGN_OR_RETURN(
      http::Response res,
      client.call("GET", "/api/v1/functions/" + http::encodePathSegment(name), "", kTimeout));
  GUST_ASSIGN_OR_RETURN(json::object fn, parseObject(res.body));

  GUST_ASSIGN_OR_RETURN(res,
                        client.call("GET", lambdaFunctionPath(name) + "/versions", "", kTimeout));
  GUST_ASSIGN_OR_RETURN(json::object versions, parseObject(res.body));
  json::array version_list;
  for (const auto& v : arrayField(versions, "Versions")) {
    if (v.is_object()) version_list.push_back(versionFromLambda(v.get_object()));
  }
  fn["versions"] = std::move(version_list);

  GUST_ASSIGN_OR_RETURN(res,
                        client.call("GET", lambdaFunctionPath(name) + "/aliases", "", kTimeout));
  GUST_ASSIGN_OR_RETURN(json::object aliases, parseObject(res.body));
  json::array alias_list;
  for (const auto& a : arrayField(aliases, "Aliases")) {
    if (a.is_object()) alias_list.push_back(aliasFromLambda(a.get_object()));
  }
  fn["aliases"] = std::move(alias_list);

  GUST_ASSIGN_OR_RETURN(
      res, client.call("GET",
                       lambdaFunctionPath(name, "2019-09-30") + "/provisioned-concurrency?List=ALL",
                       "", kTimeout));
  GUST_ASSIGN_OR_RETURN(json::object configs, parseObject(res.body));
  json::array config_list;
  for (const auto& c : arrayField(configs, "ProvisionedConcurrencyConfigs")) {
    if (c.is_object()) config_list.push_back(provisionedFromLambda(c.get_object()));
  }
  fn["provisioned_concurrency_configs"] = std::move(config_list);
  return fn;
}

std::string describeTable(const json::object& fn) {
  std::vector<std::string> env;
  for (const auto& [key, value] : objectField(fn, "environment")) {
    env.push_back(fmt::format("{}={}", std::string_view(key),
                              value.is_string() ? std::string_view(value.get_string()) : ""));
  }
  std::vector<std::string> versions;
  for (const auto& v : arrayField(fn, "versions")) {
    if (v.is_object()) versions.push_back(stringField(v.get_object(), "version"));
  }
  std::vector<std::string> aliases;
  for (const auto& a : arrayField(fn, "aliases")) {
    if (a.is_object())
      aliases.push_back(fmt::format("{} -> {}", stringField(a.get_object(), "name"),
                                    describeRouting(a.get_object())));
  }
  std::vector<std::string> provisioned;
  if (int64_t latest = intField(fn, "provisioned_concurrency"); latest > 0) {
    provisioned.push_back(fmt::format("$LATEST: {} requested, {} ready", latest,
                                      intField(fn, "provisioned_concurrency_ready")));
  }
  for (const auto& c : arrayField(fn, "provisioned_concurrency_configs")) {
    if (!c.is_object()) continue;
    const auto& o = c.get_object();
    provisioned.push_back(fmt::format("{}: {} requested, {} ready ({})",
                                      stringField(o, "qualifier"), intField(o, "requested"),
                                      intField(o, "available"), stringField(o, "status")));
  }
  std::vector<std::string> invokes;
  for (const auto& callee : arrayField(fn, "invokes"))
    if (callee.is_string()) invokes.emplace_back(callee.get_string());
  auto orNone = [](const std::vector<std::string>& items, std::string_view sep) {
    return items.empty() ? std::string("none") : fmt::format("{}", fmt::join(items, sep));
  };
  std::string sha = stringField(fn, "code_sha256");
  return renderFields({
      {"Name", stringField(fn, "name")},
      {"Description", stringField(fn, "description")},
      {"Runtime", stringField(fn, "runtime")},
      {"Handler", stringField(fn, "handler")},
      {"Memory", fmt::format("{} MB", intField(fn, "memory"))},
      {"Timeout", fmt::format("{} s", intField(fn, "timeout"))},
      {"Ephemeral storage", fmt::format("{} MB", intField(fn, "ephemeral_storage", 512))},
      {"Environment", orNone(env, ", ")},
      {"Code", fmt::format("sha256 {} ({})", sha,
                           humanBytes(static_cast<uint64_t>(intField(fn, "code_size"))))},
      {"Revision", fmt::format("{} (last modified {})", intField(fn, "revision"),
                               stringField(fn, "last_modified"))},
      {"Versions", orNone(versions, ", ")},
      {"Aliases", orNone(aliases, ", ")},
      {"Reserved concurrency", reservedText(fn)},
      {"Provisioned concurrency", orNone(provisioned, "; ")},
      {"Invokes", orNone(invokes, ", ")},
  });
}

int runDescribe(const NameArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto fn = describe(*client, args.name);
  if (!fn) return reportError(fn.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*fn);
  } else {
    fmt::print("{}", describeTable(*fn));
  }
  return kExitOk;
}

int runRemove(const NameArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", "/api/v1/functions/" + http::encodePathSegment(args.name), "",
                          kTimeout);
  if (!res) return reportError(res.error());
  fmt::print("Deleted {} (with its versions, aliases and concurrency settings)\n", args.name);
  return kExitOk;
}

}  // namespace

void addFunctionCommands(CLI::App& app) {
  auto ls = std::make_shared<NameArgs>();
  auto* ls_cmd = app.add_subcommand("ls", "List functions");
  addOutputOption(*ls_cmd, ls->output);
  addClientOptions(*ls_cmd, ls->client);
  onRun(*ls_cmd, [ls] { return runList(*ls); });

  auto describe = std::make_shared<NameArgs>();
  auto* describe_cmd = app.add_subcommand(
      "describe", "Show a function: configuration, code, versions, aliases and concurrency");
  describe_cmd->add_option("name", describe->name, "Function name")->required();
  addOutputOption(*describe_cmd, describe->output);
  addClientOptions(*describe_cmd, describe->client);
  onRun(*describe_cmd, [describe] { return runDescribe(*describe); });

  auto rm = std::make_shared<NameArgs>();
  auto* rm_cmd = app.add_subcommand("rm", "Delete a function with its versions and aliases");
  rm_cmd->add_option("name", rm->name, "Function name")->required();
  addClientOptions(*rm_cmd, rm->client);
  onRun(*rm_cmd, [rm] { return runRemove(*rm); });
}

}  // namespace gust::cli
