// gust schedule create|ls|describe|enable|disable|rm: schedules that invoke a function
// asynchronously with EventBridge's scheduled event, on rate(...) or cron(...) expressions.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/json_util.h"
#include "cli/output.h"

namespace gust::cli {
namespace {

namespace json = boost::json;

constexpr std::chrono::seconds kTimeout{30};

struct ScheduleArgs {
  ClientOptions client;
  std::string name;
  std::string expression;
  std::string function;  // NAME or NAME:QUALIFIER
  std::string input;
  std::string description;
  bool disabled = false;
  OutputFormat output = OutputFormat::kTable;
};

std::string schedulePath(std::string_view name) {
  return "/api/v1/schedules/" + http::encodePathSegment(name);
}

std::string target(const json::object& s) {
  std::string q = stringField(s, "qualifier");
  return q.empty() ? stringField(s, "function") : stringField(s, "function") + ":" + q;
}

std::string orDash(const json::object& s, std::string_view key) {
  std::string v = stringField(s, key);
  return v.empty() ? "-" : v;
}

// Prints one schedule the server answered with.
int printSchedule(const ScheduleArgs& args, const http::Response& res, std::string_view verb) {
  auto answer = parseObject(res.body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  if (!verb.empty()) fmt::print("{} schedule {}\n", verb, stringField(*answer, "name"));
  const json::value* input = answer->if_contains("input");
  fmt::print(
      "{}",
      renderFields(
          {{"Name", stringField(*answer, "name")},
           {"Expression", stringField(*answer, "expression")},
           {"Target", target(*answer)},
           {"Enabled",
            answer->at("enabled").is_bool() && answer->at("enabled").get_bool() ? "yes" : "no"},
           {"Input", input && input->is_string() ? std::string(input->get_string())
                                                 : "(the scheduled event)"},
           {"Description", stringField(*answer, "description")},
           {"Defined in", stringField(*answer, "source") == "manifest" ? "gust.yaml" : "the API"},
           {"Next run", orDash(*answer, "next_fire")},
           {"Last run", orDash(*answer, "last_fired")},
           {"Created", stringField(*answer, "created")}}));
  return kExitOk;
}

int runCreate(const ScheduleArgs& args) {
  json::object body{{"name", args.name}, {"expression", args.expression}};
  size_t colon = args.function.find(':');
  body["function"] = args.function.substr(0, colon);
  if (colon != std::string::npos) body["qualifier"] = args.function.substr(colon + 1);
  if (!args.input.empty()) body["input"] = args.input;
  if (!args.description.empty()) body["description"] = args.description;
  body["enabled"] = !args.disabled;
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("POST", "/api/v1/schedules", json::serialize(body), kTimeout);
  if (!res) return reportError(res.error());
  return printSchedule(args, *res, "Created");
}

int runList(const ScheduleArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  std::string path = "/api/v1/schedules";
  if (!args.function.empty()) path += "?function=" + http::encodePathSegment(args.function);
  auto res = client->call("GET", path, "", kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  Table table({"NAME", "EXPRESSION", "TARGET", "ENABLED", "NEXT RUN", "LAST RUN"});
  for (const auto& v : arrayField(*answer, "schedules")) {
    if (!v.is_object()) continue;
    const auto& s = v.get_object();
    bool enabled = s.contains("enabled") && s.at("enabled").is_bool() && s.at("enabled").get_bool();
    table.addRow({stringField(s, "name"), stringField(s, "expression"), target(s),
                  enabled ? "yes" : "no", orDash(s, "next_fire"), orDash(s, "last_fired")});
  }
  fmt::print("{}", table.render());
  return kExitOk;
}

int runOne(const ScheduleArgs& args, std::string_view method, std::string_view suffix,
           std::string_view verb) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call(std::string(method), schedulePath(args.name) + std::string(suffix), "",
                          kTimeout);
  if (!res) return reportError(res.error());
  return printSchedule(args, *res, verb);
}

int runRemove(const ScheduleArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", schedulePath(args.name), "", kTimeout);
  if (!res) return reportError(res.error());
  fmt::print("Deleted schedule {}\n", args.name);
  return kExitOk;
}

CLI::App* subcommand(CLI::App& parent, const char* name, const char* description,
                     const std::shared_ptr<ScheduleArgs>& args, bool with_name, bool prints) {
  auto* cmd =
      addServerCommand(parent, name, description, args->client, prints ? &args->output : nullptr);
  if (with_name) cmd->add_option("name", args->name, "Schedule name, e.g. nightly")->required();
  return cmd;
}

}  // namespace

void addScheduleCommand(CLI::App& app) {
  auto* schedule = app.add_subcommand(
      "schedule", "Manage schedules: rate(...) or cron(...) expressions that invoke a function");
  schedule->require_subcommand(1);

  auto create = std::make_shared<ScheduleArgs>();
  auto* create_cmd = subcommand(*schedule, "create", "Create a schedule", create, true, true);
  create_cmd
      ->add_option("--expression,-e", create->expression,
                   "rate(5 minutes), cron(0 12 * * ? *), ... (EventBridge's syntax, UTC)")
      ->required();
  create_cmd
      ->add_option("--function,-f", create->function,
                   "The function it invokes, optionally NAME:VERSION or NAME:ALIAS")
      ->required();
  create_cmd->add_option("--input", create->input,
                         "Constant JSON sent instead of the scheduled event");
  create_cmd->add_option("--description,-d", create->description, "Description");
  create_cmd->add_flag("--disabled", create->disabled, "Create it disabled");
  onRun(*create_cmd, [create] { return runCreate(*create); });

  auto ls = std::make_shared<ScheduleArgs>();
  auto* ls_cmd = subcommand(*schedule, "ls", "List schedules", ls, false, true);
  ls_cmd->add_option("--function,-f", ls->function, "Only the schedules of this function");
  onRun(*ls_cmd, [ls] { return runList(*ls); });

  auto describe = std::make_shared<ScheduleArgs>();
  auto* describe_cmd = subcommand(
      *schedule, "describe", "Show a schedule, with its next and last run", describe, true, true);
  onRun(*describe_cmd, [describe] { return runOne(*describe, "GET", "", ""); });

  auto enable = std::make_shared<ScheduleArgs>();
  auto* enable_cmd = subcommand(*schedule, "enable",
                                "Enable a schedule (it counts from now; missed runs are not "
                                "caught up)",
                                enable, true, true);
  onRun(*enable_cmd, [enable] { return runOne(*enable, "POST", "/enable", "Enabled"); });

  auto disable = std::make_shared<ScheduleArgs>();
  auto* disable_cmd = subcommand(*schedule, "disable", "Disable a schedule", disable, true, true);
  onRun(*disable_cmd, [disable] { return runOne(*disable, "POST", "/disable", "Disabled"); });

  auto rm = std::make_shared<ScheduleArgs>();
  auto* rm_cmd = subcommand(*schedule, "rm", "Delete a schedule", rm, true, false);
  onRun(*rm_cmd, [rm] { return runRemove(*rm); });
}

}  // namespace gust::cli
