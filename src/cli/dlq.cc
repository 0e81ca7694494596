// gust dlq ls|show|redrive|purge: the built-in dead-letter store, where asynchronous
// invocations' records go when an EventInvokeConfig destination is arn:aws:sqs:...:QUEUE.
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

constexpr std::chrono::seconds kTimeout{60};
constexpr int kPageSize = 1000;

struct DlqArgs {
  ClientOptions client;
  std::string queue;
  std::string function;
  int limit = 100;
  std::vector<std::string> ids;
  bool all = false;
  OutputFormat output = OutputFormat::kTable;
};

std::string queryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += fmt::format("{}{}={}", out.empty() ? "?" : "&", key, http::encodePathSegment(value));
  }
  return out;
}

// Every record that matches, following pages, at most `limit` (0: no limit).
Result<json::array> listRecords(Client& client, const DlqArgs& args, int limit) {
  json::array out;
  std::string after;
  for (;;) {
    int page = limit > 0 ? std::min(kPageSize, limit - static_cast<int>(out.size())) : kPageSize;
    GUST_ASSIGN_OR_RETURN(
        http::Response res,
        client.call("GET",
                    "/api/v1/dead-letters" + queryString({{"queue", args.queue},
                                                          {"function", args.function},
                                                          {"after", after},
                                                          {"limit", std::to_string(page)}}),
                    "", kTimeout));
    GUST_ASSIGN_OR_RETURN(json::object answer, parseObject(res.body));
    for (const auto& d : arrayField(answer, "dead_letters")) out.push_back(d);
    after = stringField(answer, "next");
    if (after.empty() || (limit > 0 && static_cast<int>(out.size()) >= limit)) return out;
  }
}

// A 404 of the store names the command that lists the records.
int reportNotFound(const Error& error) {
  if (error.code == ErrorCode::kNotFound && !error.message.starts_with("no route"))
    return reportError(
        Error::notFound(fmt::format("{}; list them with `gust dlq ls`", error.message)));
  return reportError(error);
}

int runList(const DlqArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto records = listRecords(*client, args, args.limit);
  if (!records) return reportError(records.error());
  if (args.output == OutputFormat::kJson) {
    printJson(json::object{{"dead_letters", std::move(*records)}});
    return kExitOk;
  }
  Table table({"ID", "QUEUE", "FUNCTION", "CONDITION", "INVOKES", "REQUEST ID", "CREATED"});
  for (const auto& r : *records) {
    if (!r.is_object()) continue;
    const auto& o = r.get_object();
    std::string function = stringField(o, "function");
    if (!stringField(o, "qualifier").empty()) function += ":" + stringField(o, "qualifier");
    table.addRow({stringField(o, "id"), stringField(o, "queue"), function,
                  stringField(o, "condition"),
                  std::to_string(intField(o, "approximate_invoke_count")),
                  stringField(o, "request_id"), stringField(o, "created")});
  }
  fmt::print("{}", table.render());
  if (table.rowCount() == 0) fmt::print(stderr, "The dead-letter store is empty.\n");
  return kExitOk;
}

int runShow(const DlqArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", "/api/v1/dead-letters/" + http::encodePathSegment(args.ids[0]), "",
                          kTimeout);
  if (!res) return reportNotFound(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  fmt::print("{}\n{}\n",
             renderFields({{"Id", stringField(*answer, "id")},
                           {"Queue", stringField(*answer, "queue")},
                           {"Function", stringField(*answer, "function")},
                           {"Qualifier", stringField(*answer, "qualifier")},
                           {"Condition", stringField(*answer, "condition")},
                           {"Request id", stringField(*answer, "request_id")},
                           {"Created", stringField(*answer, "created")}}),
             prettyJson(answer->contains("record") ? answer->at("record") : json::value()));
  return kExitOk;
}

int runRedrive(const DlqArgs& args) {
  if (args.all == !args.ids.empty())
    return reportError(Error::invalid(
        "name the records to redrive (gust dlq redrive ID...), or pass --all (with --queue or "
        "--function to narrow it)"));
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  std::vector<std::string> ids = args.ids;
  if (args.all) {
    auto records = listRecords(*client, args, 0);
    if (!records) return reportError(records.error());
    for (const auto& r : *records)
      if (r.is_object()) ids.push_back(stringField(r.get_object(), "id"));
  }
  json::array redriven;
  int failures = 0;
  for (const auto& id : ids) {
    auto res = client->call(
        "POST", "/api/v1/dead-letters/" + http::encodePathSegment(id) + "/redrive", "", kTimeout);
    if (!res) {
      reportNotFound(res.error());
      ++failures;
      continue;
    }
    auto answer = parseObject(res->body);
    std::string request_id = answer ? stringField(*answer, "request_id") : std::string();
    redriven.push_back(json::object{{"id", id}, {"request_id", request_id}});
    if (args.output == OutputFormat::kTable)
      fmt::print("{} queued again as request {}\n", id, request_id);
  }
  if (args.output == OutputFormat::kJson) printJson(json::object{{"redriven", redriven}});
  if (args.output == OutputFormat::kTable && ids.empty())
    fmt::print(stderr, "Nothing to redrive: no record matches.\n");
  return failures == 0 ? kExitOk : kExitError;
}

int runPurge(const DlqArgs& args) {
  if (args.all == !args.queue.empty())
    return reportError(Error::invalid(
        "say what to purge: --queue QUEUE for one queue's records, or --all for every record"));
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", "/api/v1/dead-letters" + queryString({{"queue", args.queue}}),
                          "", kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  int64_t purged = intField(*answer, "purged");
  if (args.output == OutputFormat::kJson)
    printJson(json::object{{"purged", purged}});
  else
    fmt::print("Purged {} record{}\n", purged, purged == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace

void addDlqCommand(CLI::App& app) {
  auto* dlq = app.add_subcommand(
      "dlq",
      "The dead-letter store: records of asynchronous invocations (arn:aws:sqs destinations)");
  dlq->require_subcommand(1);

  auto ls = std::make_shared<DlqArgs>();
  auto* ls_cmd = dlq->add_subcommand("ls", "List records, oldest first");
  ls_cmd->add_option("--queue,-q", ls->queue, "Only this queue's records");
  ls_cmd->add_option("--function,-f", ls->function, "Only records of this function");
  ls_cmd->add_option("--limit,-n", ls->limit, "At most this many")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  addOutputOption(*ls_cmd, ls->output);
  addClientOptions(*ls_cmd, ls->client);
  onRun(*ls_cmd, [ls] { return runList(*ls); });

  auto show = std::make_shared<DlqArgs>();
  auto* show_cmd = dlq->add_subcommand("show", "Show one record with its invocation record");
  show_cmd->add_option("id", show->ids, "The record's id (from gust dlq ls)")
      ->required()
      ->expected(1);
  addOutputOption(*show_cmd, show->output);
  addClientOptions(*show_cmd, show->client);
  onRun(*show_cmd, [show] { return runShow(*show); });

  auto redrive = std::make_shared<DlqArgs>();
  auto* redrive_cmd = dlq->add_subcommand(
      "redrive", "Queue records' events again (their original request id and payload)");
  redrive_cmd->add_option("ids", redrive->ids, "Record ids");
  redrive_cmd->add_flag("--all", redrive->all, "Every record (narrowed by --queue, --function)");
  redrive_cmd->add_option("--queue,-q", redrive->queue, "With --all: only this queue's records");
  redrive_cmd->add_option("--function,-f", redrive->function,
                          "With --all: only records of this function");
  addOutputOption(*redrive_cmd, redrive->output);
  addClientOptions(*redrive_cmd, redrive->client);
  onRun(*redrive_cmd, [redrive] { return runRedrive(*redrive); });

  auto purge = std::make_shared<DlqArgs>();
  auto* purge_cmd = dlq->add_subcommand("purge", "Delete records: one queue's, or all");
  purge_cmd->add_option("--queue,-q", purge->queue, "Delete this queue's records");
  purge_cmd->add_flag("--all", purge->all, "Delete every record");
  addOutputOption(*purge_cmd, purge->output);
  addClientOptions(*purge_cmd, purge->client);
  onRun(*purge_cmd, [purge] { return runPurge(*purge); });
}

}  // namespace gust::cli
