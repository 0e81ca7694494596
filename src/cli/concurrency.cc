// gust concurrency reserved|provisioned set|get|rm: Lambda's reserved concurrency (a function's
// share of the account's limit) and provisioned concurrency (instances kept initialised for a
// version or an alias).
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

struct ConcurrencyArgs {
  ClientOptions client;
  std::string function;
  std::string qualifier;
  int count = 0;
  OutputFormat output = OutputFormat::kTable;
};

std::string reservedPath(std::string_view function, std::string_view api_date) {
  return lambdaFunctionPath(function, api_date) + "/concurrency";
}

std::string provisionedPath(const ConcurrencyArgs& args) {
  return lambdaFunctionPath(args.function, "2019-09-30") + "/provisioned-concurrency" +
         qualifierQuery(args.qualifier);
}

int printReserved(const ConcurrencyArgs& args, const json::object& answer) {
  const auto* n = answer.if_contains("ReservedConcurrentExecutions");
  bool reserved = n && n->is_number();
  if (args.output == OutputFormat::kJson) {
    json::object out{{"function", args.function}, {"reserved_concurrency", nullptr}};
    if (reserved) out["reserved_concurrency"] = intField(answer, "ReservedConcurrentExecutions");
    printJson(out);
  } else if (reserved) {
    fmt::print("{}: reserved concurrency {}\n", args.function,
               intField(answer, "ReservedConcurrentExecutions"));
  } else {
    fmt::print("{}: no reserved concurrency (it shares the account's unreserved pool)\n",
               args.function);
  }
  return kExitOk;
}

int runReservedSet(const ConcurrencyArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call(
      "PUT", reservedPath(args.function, "2017-10-31"),
      json::serialize(json::object{{"ReservedConcurrentExecutions", args.count}}), kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  return printReserved(args, *answer);
}

int runReservedGet(const ConcurrencyArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", reservedPath(args.function, "2019-09-30"), "", kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  return printReserved(args, *answer);
}

int runReservedRemove(const ConcurrencyArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", reservedPath(args.function, "2017-10-31"), "", kTimeout);
  if (!res) return reportError(res.error());
  fmt::print("{}: reserved concurrency removed\n", args.function);
  return kExitOk;
}

void printProvisionedTable(const json::array& configs) {
  Table table({"QUALIFIER", "REQUESTED", "AVAILABLE", "STATUS", "LAST MODIFIED"});
  for (const auto& c : configs) {
    const auto& o = c.get_object();
    table.addRow({stringField(o, "qualifier"), fmt::format("{}", intField(o, "requested")),
                  fmt::format("{}", intField(o, "available")), stringField(o, "status"),
                  stringField(o, "last_modified")});
  }
  fmt::print("{}", table.render());
}

int runProvisionedSet(const ConcurrencyArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call(
      "PUT", provisionedPath(args),
      json::serialize(json::object{{"ProvisionedConcurrentExecutions", args.count}}), kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  json::object config = provisionedFromLambda(*answer, args.qualifier);
  if (args.output == OutputFormat::kJson) {
    printJson(config);
  } else {
    printProvisionedTable(json::array{config});
    fmt::print(stderr,
               "Instances start in the background; `gust concurrency provisioned get {} -q {}` "
               "shows READY once they are initialised\n",
               args.function, args.qualifier);
  }
  return kExitOk;
}

int runProvisionedGet(const ConcurrencyArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  json::array configs;
  if (args.qualifier.empty()) {
    auto res = client->call(
        "GET",
        lambdaFunctionPath(args.function, "2019-09-30") + "/provisioned-concurrency?List=ALL", "",
        kTimeout);
    if (!res) return reportError(res.error());
    auto answer = parseObject(res->body);
    if (!answer) return reportError(answer.error());
    for (const auto& c : arrayField(*answer, "ProvisionedConcurrencyConfigs")) {
      if (c.is_object()) configs.push_back(provisionedFromLambda(c.get_object()));
    }
  } else {
    auto res = client->call("GET", provisionedPath(args), "", kTimeout);
    if (!res) return reportError(res.error());
    auto answer = parseObject(res->body);
    if (!answer) return reportError(answer.error());
    configs.push_back(provisionedFromLambda(*answer, args.qualifier));
  }
  if (args.output == OutputFormat::kJson) {
    if (args.qualifier.empty()) {
      printJson(json::object{{"function", args.function},
                             {"provisioned_concurrency_configs", std::move(configs)}});
    } else {
      printJson(configs.front());
    }
  } else {
    printProvisionedTable(configs);
  }
  return kExitOk;
}

int runProvisionedRemove(const ConcurrencyArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", provisionedPath(args), "", kTimeout);
  if (!res) return reportError(res.error());
  fmt::print("{}:{}: provisioned concurrency removed\n", args.function, args.qualifier);
  return kExitOk;
}

// Adds `name` under `parent` with the function argument, a count when `with_count`, and
// --output when it prints data.
CLI::App* subcommand(CLI::App& parent, const char* name, const char* description,
                     const std::shared_ptr<ConcurrencyArgs>& args, bool with_count, bool prints) {
  auto* cmd =
      addServerCommand(parent, name, description, args->client, prints ? &args->output : nullptr);
  cmd->add_option("function", args->function, "Function name")->required();
  if (with_count) cmd->add_option("count", args->count, "Number of instances")->required();
  return cmd;
}

}  // namespace

void addConcurrencyCommand(CLI::App& app) {
  auto* concurrency = app.add_subcommand("concurrency", "Reserved and provisioned concurrency");
  concurrency->require_subcommand(1);

  auto* reserved = concurrency->add_subcommand(
      "reserved", "A function's reservation: at most N invocations at once, kept for it");
  reserved->require_subcommand(1);
  auto set = std::make_shared<ConcurrencyArgs>();
  auto* set_cmd =
      subcommand(*reserved, "set", "Reserve N (0 throttles every invocation)", set, true, true);
  set_cmd->get_option("count")->check(CLI::NonNegativeNumber);
  onRun(*set_cmd, [set] { return runReservedSet(*set); });
  auto get = std::make_shared<ConcurrencyArgs>();
  auto* get_cmd = subcommand(*reserved, "get", "Show the reservation", get, false, true);
  onRun(*get_cmd, [get] { return runReservedGet(*get); });
  auto rm = std::make_shared<ConcurrencyArgs>();
  auto* rm_cmd = subcommand(*reserved, "rm", "Remove the reservation", rm, false, false);
  onRun(*rm_cmd, [rm] { return runReservedRemove(*rm); });

  auto* provisioned = concurrency->add_subcommand(
      "provisioned", "Instances kept initialised for a published version or an alias");
  provisioned->require_subcommand(1);
  auto pset = std::make_shared<ConcurrencyArgs>();
  auto* pset_cmd =
      subcommand(*provisioned, "set", "Keep N instances initialised", pset, true, true);
  pset_cmd->get_option("count")->check(CLI::PositiveNumber);
  pset_cmd->add_option("--qualifier,-q", pset->qualifier, "A published version or an alias")
      ->required();
  onRun(*pset_cmd, [pset] { return runProvisionedSet(*pset); });
  auto pget = std::make_shared<ConcurrencyArgs>();
  auto* pget_cmd =
      subcommand(*provisioned, "get", "Show the configuration of a qualifier, or of all without -q",
                 pget, false, true);
  pget_cmd->add_option("--qualifier,-q", pget->qualifier, "A published version or an alias");
  onRun(*pget_cmd, [pget] { return runProvisionedGet(*pget); });
  auto prm = std::make_shared<ConcurrencyArgs>();
  auto* prm_cmd =
      subcommand(*provisioned, "rm", "Stop keeping instances initialised", prm, false, false);
  prm_cmd->add_option("--qualifier,-q", prm->qualifier, "A published version or an alias")
      ->required();
  onRun(*prm_cmd, [prm] { return runProvisionedRemove(*prm); });
}

}  // namespace gust::cli
