// gust api-key create|ls|rm|enable|disable, gust usage-plan create|ls|rm|add-key|remove-key and
// gust usage: the API keys callers send in `x-api-key`, the usage plans that throttle them and
// give them quotas, and how many requests each key made per day. A key's value is shown once,
// at creation (the server keeps only its hash).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <ctime>
#include <map>
#include <optional>

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

struct ApiKeyArgs {
  ClientOptions client;
  std::string name;  // or id, for rm/enable/disable
  std::string description;
  std::string value;
  bool disabled = false;
  OutputFormat output = OutputFormat::kTable;
};

struct UsagePlanArgs {
  ClientOptions client;
  std::string plan;  // name (create) or id or name
  std::string key;
  std::string description;
  std::optional<double> rate;
  std::optional<int64_t> burst;
  std::optional<int64_t> quota;
  std::string quota_period = "DAY";
  int64_t quota_offset = 0;
  std::vector<std::string> api_stages;  // API_ID:STAGE
  std::string from;
  std::string to;
  OutputFormat output = OutputFormat::kTable;
};

std::string keyPath(std::string_view ref) {
  return "/api/v1/api-keys/" + http::encodePathSegment(ref);
}

std::string planPath(std::string_view ref) {
  return "/api/v1/usage-plans/" + http::encodePathSegment(ref);
}

// Sends the request and parses the JSON object answered; errors are reported (exit code in
// `exit`).
std::optional<json::object> request(const ClientOptions& options, std::string method,
                                    std::string target, std::string body, int& exit) {
  exit = kExitError;
  auto client = Client::connect(options);
  if (!client) {
    reportError(client.error());
    return std::nullopt;
  }
  auto res = client->call(std::move(method), std::move(target), std::move(body), kTimeout);
  if (!res) {
    reportError(res.error());
    return std::nullopt;
  }
  exit = kExitOk;
  if (res->status == 204) return json::object{};
  auto answer = parseObject(res->body);
  if (!answer) {
    exit = reportError(answer.error());
    return std::nullopt;
  }
  return std::move(*answer);
}

std::string enabledText(const json::object& key) {
  const auto* e = key.if_contains("enabled");
  return e && e->is_bool() && e->get_bool() ? "yes" : "no";
}

int runKeyCreate(const ApiKeyArgs& args) {
  json::object body{{"name", args.name}, {"enabled", !args.disabled}};
  if (!args.description.empty()) body["description"] = args.description;
  if (!args.value.empty()) body["value"] = args.value;
  int exit = kExitOk;
  auto key = request(args.client, "POST", "/api/v1/api-keys", json::serialize(body), exit);
  if (!key) return exit;
  if (args.output == OutputFormat::kJson) {
    printJson(*key);
    return kExitOk;
  }
  fmt::print(
      "{}"
      "The value is shown only now: give it to the caller, who sends it in the x-api-key "
      "header.\nAdd the key to a usage plan: gust usage-plan add-key PLAN {}\n",
      renderFields({{"Id", stringField(*key, "id")},
                    {"Name", stringField(*key, "name")},
                    {"Value", stringField(*key, "value")},
                    {"Enabled", enabledText(*key)},
                    {"Created", stringField(*key, "created")}}),
      stringField(*key, "name"));
  return kExitOk;
}

void printKeys(const json::object& answer, OutputFormat output) {
  if (output == OutputFormat::kJson) return printJson(answer);
  Table table({"ID", "NAME", "ENABLED", "CREATED", "DESCRIPTION"});
  for (const auto& k : arrayField(answer, "api_keys")) {
    if (!k.is_object()) continue;
    const auto& o = k.get_object();
    table.addRow({stringField(o, "id"), stringField(o, "name"), enabledText(o),
                  stringField(o, "created"), stringField(o, "description")});
  }
  fmt::print("{}", table.render());
}

int runKeyList(const ApiKeyArgs& args) {
  int exit = kExitOk;
  auto answer = request(args.client, "GET", "/api/v1/api-keys", "", exit);
  if (answer) printKeys(*answer, args.output);
  return exit;
}

int runKeyRemove(const ApiKeyArgs& args) {
  int exit = kExitOk;
  if (request(args.client, "DELETE", keyPath(args.name), "", exit))
    fmt::print("Deleted API key {}: requests with it are refused from now on\n", args.name);
  return exit;
}

int runKeyEnable(const ApiKeyArgs& args, bool enabled) {
  int exit = kExitOk;
  auto key = request(args.client, "PATCH", keyPath(args.name),
                     json::serialize(json::object{{"enabled", enabled}}), exit);
  if (key)
    fmt::print("API key {} ({}) is {}\n", stringField(*key, "name"), stringField(*key, "id"),
               enabled ? "enabled" : "disabled: requests with it are refused (403)");
  return exit;
}

Result<json::object> planBody(const UsagePlanArgs& args) {
  json::object body{{"name", args.plan}};
  if (!args.description.empty()) body["description"] = args.description;
  if (args.rate || args.burst) {
    if (!args.rate || !args.burst)
      return Error::invalid("give both --rate (requests per second) and --burst");
    body["throttle"] = json::object{{"rate_limit", *args.rate}, {"burst_limit", *args.burst}};
  }
  if (args.quota)
    body["quota"] = json::object{
        {"limit", *args.quota}, {"period", args.quota_period}, {"offset", args.quota_offset}};
  json::array stages;
  for (const auto& s : args.api_stages) {
    auto colon = s.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
      return Error::invalid(
          fmt::format("--api-stage '{}' is not API_ID:STAGE, e.g. a1b2c3d4e5:prod", s));
    stages.push_back(json::object{{"api_id", s.substr(0, colon)}, {"stage", s.substr(colon + 1)}});
  }
  body["api_stages"] = std::move(stages);
  return body;
}

std::string throttleText(const json::object& plan) {
  const auto& t = objectField(plan, "throttle");
  if (t.empty()) return "-";
  const auto* rate = t.if_contains("rate_limit");
  double r = rate && rate->is_number() ? rate->to_number<double>() : 0;
  return fmt::format("{} req/s, burst {}", r, intField(t, "burst_limit"));
}

std::string quotaText(const json::object& plan) {
  const auto& q = objectField(plan, "quota");
  if (q.empty()) return "-";
  std::string text = fmt::format("{} per {}", intField(q, "limit"), stringField(q, "period"));
  if (int64_t offset = intField(q, "offset")) text += fmt::format(" (offset {})", offset);
  return text;
}

std::string stagesText(const json::object& plan) {
  std::string out;
  for (const auto& s : arrayField(plan, "api_stages")) {
    if (!s.is_object()) continue;
    if (!out.empty()) out += ", ";
    out += stringField(s.get_object(), "api_id") + ":" + stringField(s.get_object(), "stage");
  }
  return out.empty() ? "-" : out;
}

int runPlanCreate(const UsagePlanArgs& args) {
  auto body = planBody(args);
  if (!body) return reportError(body.error());
  int exit = kExitOk;
  auto plan = request(args.client, "POST", "/api/v1/usage-plans", json::serialize(*body), exit);
  if (!plan) return exit;
  if (args.output == OutputFormat::kJson) {
    printJson(*plan);
    return kExitOk;
  }
  fmt::print("{}", renderFields({{"Id", stringField(*plan, "id")},
                                 {"Name", stringField(*plan, "name")},
                                 {"Throttle", throttleText(*plan)},
                                 {"Quota", quotaText(*plan)},
                                 {"API stages", stagesText(*plan)}}));
  return kExitOk;
}

int runPlanList(const UsagePlanArgs& args) {
  int exit = kExitOk;
  auto answer = request(args.client, "GET", "/api/v1/usage-plans", "", exit);
  if (!answer) return exit;
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  Table table({"ID", "NAME", "THROTTLE", "QUOTA", "API STAGES"});
  for (const auto& p : arrayField(*answer, "usage_plans")) {
    if (!p.is_object()) continue;
    const auto& o = p.get_object();
    table.addRow({stringField(o, "id"), stringField(o, "name"), throttleText(o), quotaText(o),
                  stagesText(o)});
  }
  fmt::print("{}", table.render());
  return kExitOk;
}

int runPlanRemove(const UsagePlanArgs& args) {
  int exit = kExitOk;
  if (request(args.client, "DELETE", planPath(args.plan), "", exit))
    fmt::print("Deleted usage plan {}\n", args.plan);
  return exit;
}

int runPlanAddKey(const UsagePlanArgs& args) {
  int exit = kExitOk;
  if (request(args.client, "POST", planPath(args.plan) + "/keys",
              json::serialize(json::object{{"key_id", args.key}}), exit))
    fmt::print("API key {} is in usage plan {}\n", args.key, args.plan);
  return exit;
}

int runPlanRemoveKey(const UsagePlanArgs& args) {
  int exit = kExitOk;
  if (request(args.client, "DELETE",
              planPath(args.plan) + "/keys/" + http::encodePathSegment(args.key), "", exit))
    fmt::print("API key {} is no longer in usage plan {}\n", args.key, args.plan);
  return exit;
}

std::string formatDay(std::chrono::sys_days day) {
  std::chrono::year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

// Today (UTC) minus `days_back`.
std::chrono::sys_days utcToday(int days_back = 0) {
  return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) -
         std::chrono::days(days_back);
}

// A YYYY-MM-DD date of the server's answer; nullopt if it is not one.
std::optional<std::chrono::sys_days> parseDay(const std::string& date) {
  std::tm tm{};
  const char* end = strptime(date.c_str(), "%Y-%m-%d", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::from_time_t(timegm(&tm)));
}

int runUsage(const UsagePlanArgs& args) {
  std::string from = args.from.empty() ? formatDay(utcToday(6)) : args.from;
  std::string to = args.to.empty() ? formatDay(utcToday()) : args.to;
  std::string target = planPath(args.plan) + "/usage?startDate=" + http::encodePathSegment(from) +
                       "&endDate=" + http::encodePathSegment(to);
  if (!args.key.empty()) target += "&keyId=" + http::encodePathSegment(args.key);
  int exit = kExitOk;
  auto report = request(args.client, "GET", target, "", exit);
  if (!report) return exit;
  if (args.output == OutputFormat::kJson) {
    printJson(*report);
    return kExitOk;
  }
  // Names of the plan's keys, for people.
  std::map<std::string, std::string> names;
  if (auto keys = request(args.client, "GET", planPath(args.plan) + "/keys", "", exit)) {
    for (const auto& k : arrayField(*keys, "api_keys"))
      if (k.is_object())
        names[stringField(k.get_object(), "id")] = stringField(k.get_object(), "name");
  }
  auto first_day = parseDay(stringField(*report, "startDate"));
  if (!first_day)
    return reportError(Error::internal("the server's usage report has no valid startDate"));
  Table table({"KEY ID", "KEY NAME", "DATE", "USED", "REMAINING"});
  for (const auto& [key_id, days] : objectField(*report, "items")) {
    if (!days.is_array()) continue;
    std::chrono::sys_days day = *first_day;
    for (const auto& d : days.get_array()) {
      const auto* pair = d.if_array();
      if (pair && pair->size() == 2 && pair->at(0).is_int64() && pair->at(1).is_int64()) {
        int64_t remaining = pair->at(1).get_int64();
        table.addRow({std::string(key_id), names[std::string(key_id)], formatDay(day),
                      std::to_string(pair->at(0).get_int64()),
                      remaining < 0 ? std::string("-") : std::to_string(remaining)});
      }
      day += std::chrono::days(1);
    }
  }
  fmt::print("{}", table.render());
  return kExitOk;
}

}  // namespace

void addApiKeyCommands(CLI::App& app) {
  auto* keys = app.add_subcommand("api-key", "API keys callers send in the x-api-key header");
  keys->require_subcommand(1);

  auto create = std::make_shared<ApiKeyArgs>();
  auto* create_cmd = keys->add_subcommand("create", "Create an API key; prints its value once");
  create_cmd->add_option("name", create->name, "The key's name (letters, digits, - _ .)")
      ->required();
  create_cmd->add_option("--description,-d", create->description, "What the key is for");
  create_cmd->add_option("--value", create->value,
                         "Use this value (20 to 128 printable characters) instead of a generated "
                         "one");
  create_cmd->add_flag("--disabled", create->disabled, "Create it disabled");
  addOutputOption(*create_cmd, create->output);
  addClientOptions(*create_cmd, create->client);
  onRun(*create_cmd, [create] { return runKeyCreate(*create); });

  auto list = std::make_shared<ApiKeyArgs>();
  auto* list_cmd = keys->add_subcommand("ls", "List API keys (never their values)");
  addOutputOption(*list_cmd, list->output);
  addClientOptions(*list_cmd, list->client);
  onRun(*list_cmd, [list] { return runKeyList(*list); });

  for (auto [verb, help] : {std::pair{"rm", "Delete an API key"},
                            {"enable", "Accept requests with an API key again"},
                            {"disable", "Refuse requests with an API key (403) until enabled"}}) {
    auto args = std::make_shared<ApiKeyArgs>();
    auto* cmd = keys->add_subcommand(verb, help);
    cmd->add_option("key", args->name, "The key's id or name")->required();
    addClientOptions(*cmd, args->client);
    std::string v = verb;
    onRun(*cmd, [args, v] {
      return v == "rm" ? runKeyRemove(*args) : runKeyEnable(*args, v == "enable");
    });
  }

  auto* plans = app.add_subcommand("usage-plan",
                                   "Usage plans: the throttle and quota of API keys on API stages");
  plans->require_subcommand(1);

  auto pcreate = std::make_shared<UsagePlanArgs>();
  auto* pcreate_cmd = plans->add_subcommand("create", "Create a usage plan");
  pcreate_cmd->add_option("name", pcreate->plan, "The plan's name")->required();
  pcreate_cmd->add_option("--description,-d", pcreate->description, "What the plan is for");
  pcreate_cmd->add_option("--rate", pcreate->rate, "Requests per second per key (with --burst)")
      ->check(CLI::Range(0.0, 1e7));
  pcreate_cmd->add_option("--burst", pcreate->burst, "Requests at once per key (with --rate)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  pcreate_cmd->add_option("--quota", pcreate->quota, "Requests per key per quota period")
      ->check(CLI::PositiveNumber);
  pcreate_cmd->add_option("--quota-period", pcreate->quota_period, "DAY, WEEK or MONTH (UTC)")
      ->check(CLI::IsMember({"DAY", "WEEK", "MONTH"}))
      ->capture_default_str();
  pcreate_cmd->add_option("--quota-offset", pcreate->quota_offset,
                          "Requests fewer in the first period");
  pcreate_cmd->add_option("--api-stage", pcreate->api_stages,
                          "API_ID:STAGE the plan applies to (repeatable)");
  addOutputOption(*pcreate_cmd, pcreate->output);
  addClientOptions(*pcreate_cmd, pcreate->client);
  onRun(*pcreate_cmd, [pcreate] { return runPlanCreate(*pcreate); });

  auto plist = std::make_shared<UsagePlanArgs>();
  auto* plist_cmd = plans->add_subcommand("ls", "List usage plans");
  addOutputOption(*plist_cmd, plist->output);
  addClientOptions(*plist_cmd, plist->client);
  onRun(*plist_cmd, [plist] { return runPlanList(*plist); });

  auto prm = std::make_shared<UsagePlanArgs>();
  auto* prm_cmd = plans->add_subcommand("rm", "Delete a usage plan (and its usage)");
  prm_cmd->add_option("plan", prm->plan, "The plan's id or name")->required();
  addClientOptions(*prm_cmd, prm->client);
  onRun(*prm_cmd, [prm] { return runPlanRemove(*prm); });

  for (bool add : {true, false}) {
    auto args = std::make_shared<UsagePlanArgs>();
    auto* cmd = plans->add_subcommand(
        add ? "add-key" : "remove-key",
        add ? "Put an API key in a usage plan" : "Take an API key out of a usage plan");
    cmd->add_option("plan", args->plan, "The plan's id or name")->required();
    cmd->add_option("key", args->key, "The key's id or name")->required();
    addClientOptions(*cmd, args->client);
    onRun(*cmd, [args, add] { return add ? runPlanAddKey(*args) : runPlanRemoveKey(*args); });
  }

  auto usage = std::make_shared<UsagePlanArgs>();
  auto* usage_cmd = app.add_subcommand(
      "usage", "Requests per API key per day under a usage plan, with the quota remaining");
  usage_cmd->add_option("plan", usage->plan, "The plan's id or name")->required();
  usage_cmd->add_option("--key", usage->key, "Only this key (id or name)");
  usage_cmd->add_option("--from", usage->from, "First day, YYYY-MM-DD (UTC; default: 6 days ago)");
  usage_cmd->add_option("--to", usage->to, "Last day, YYYY-MM-DD (UTC; default: today)");
  addOutputOption(*usage_cmd, usage->output);
  addClientOptions(*usage_cmd, usage->client);
  onRun(*usage_cmd, [usage] { return runUsage(*usage); });
}

}  // namespace gust::cli
