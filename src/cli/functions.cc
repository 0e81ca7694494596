// gust ls / describe / rm: read and delete functions.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <boost/json.hpp>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "control/function_config.h"

namespace gust::cli {
namespace {

struct NameArgs {
  ClientOptions client;
  std::string name;
  std::string output = "table";
};

void runOrThrow(int code) {
  if (code != kExitOk) throw CLI::RuntimeError(code);
}

int runList(const NameArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", "/api/v1/functions", "", std::chrono::seconds(30));
  if (!res) return reportError(res.error());
  if (args.output == "json") {
    fmt::print("{}\n", res->body);
    return kExitOk;
  }
  boost::json::error_code ec;
  auto v = boost::json::parse(res->body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("functions")) {
    return reportError(Error::internal("unexpected answer from the server: " + res->body));
  }
  fmt::print("{:<32} {:<12} {:<24} {:>7} {:>8} {:>9}\n", "NAME", "RUNTIME", "HANDLER", "MEMORY",
             "TIMEOUT", "REVISION");
  for (const auto& f : v.as_object().at("functions").as_array()) {
    auto record = control::functionFromJson(boost::json::serialize(f));
    if (!record) return reportError(record.error());
    fmt::print("{:<32} {:<12} {:<24} {:>4} MB {:>6} s {:>9}\n", record->name, record->runtime,
               record->handler, record->memory_mb, record->timeout_s, record->revision);
  }
  return kExitOk;
}

int runDescribe(const NameArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", "/api/v1/functions/" + http::encodePathSegment(args.name), "",
                          std::chrono::seconds(30));
  if (!res) return reportError(res.error());
  fmt::print("{}\n", res->body);
  return kExitOk;
}

int runRemove(const NameArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", "/api/v1/functions/" + http::encodePathSegment(args.name), "",
                          std::chrono::seconds(30));
  if (!res) return reportError(res.error());
  fmt::print("Deleted {}\n", args.name);
  return kExitOk;
}

}  // namespace

void addFunctionCommands(CLI::App& app) {
  auto ls = std::make_shared<NameArgs>();
  auto* ls_cmd = app.add_subcommand("ls", "List functions");
  ls_cmd->add_option("--output,-o", ls->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  addClientOptions(*ls_cmd, ls->client);
  ls_cmd->callback([ls] { runOrThrow(runList(*ls)); });

  auto describe = std::make_shared<NameArgs>();
  auto* describe_cmd = app.add_subcommand("describe", "Show a function's configuration as JSON");
  describe_cmd->add_option("name", describe->name, "Function name")->required();
  addClientOptions(*describe_cmd, describe->client);
  describe_cmd->callback([describe] { runOrThrow(runDescribe(*describe)); });

  auto rm = std::make_shared<NameArgs>();
  auto* rm_cmd = app.add_subcommand("rm", "Delete a function");
  rm_cmd->add_option("name", rm->name, "Function name")->required();
  addClientOptions(*rm_cmd, rm->client);
  rm_cmd->callback([rm] { runOrThrow(runRemove(*rm)); });
}

}  // namespace gust::cli
