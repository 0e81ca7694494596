// gust logs NAME: prints a function's invocation logs (START ... REPORT) from the server's store,
// oldest first; --follow keeps polling for new ones (with the answer's after_id cursor) until
// interrupted.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/json_util.h"
#include "cli/output.h"

namespace gust::cli {
namespace {

constexpr int kPageSize = 1000;
constexpr int kMaxPagesPerPoll = 100;  // bounds one poll at 100 000 records
constexpr std::chrono::seconds kFollowInterval{1};

struct LogsArgs {
  ClientOptions client;
  std::string name;
  std::string since;  // empty: 10m, or everything kept when --request-id is given
  std::string request_id;
  bool follow = false;
  OutputFormat output = OutputFormat::kTable;
};

// Fetches and prints every record after `after_id`; returns the cursor for the next poll.
Result<int64_t> printNew(const Client& client, const LogsArgs& args, int64_t since_ms,
                         int64_t after_id) {
  for (int page = 0; page < kMaxPagesPerPoll; ++page) {
    std::string target =
        fmt::format("/api/v1/functions/{}/logs?since={}&limit={}&after_id={}",
                    http::encodePathSegment(args.name), since_ms, kPageSize, after_id);
    if (!args.request_id.empty())
      target += "&request_id=" + http::encodePathSegment(args.request_id);
    GUST_ASSIGN_OR_RETURN(http::Response res,
                          client.call("GET", target, "", std::chrono::seconds(30)));
    GUST_ASSIGN_OR_RETURN(boost::json::object answer, parseObject(res.body));
    const auto& logs = arrayField(answer, "logs");
    for (const auto& entry : logs) {
      const auto* record = entry.if_object();
      if (!record) continue;
      if (args.output == OutputFormat::kJson) {
        printJson(*record);  // one record per line
      } else {
        fmt::print("{}", stringField(*record, "message"));
      }
      after_id = std::max(after_id, intField(*record, "id", after_id));
    }
    after_id = std::max(after_id, intField(answer, "next_after_id", after_id));
    std::fflush(stdout);
    if (logs.size() < static_cast<size_t>(kPageSize)) break;
  }
  return after_id;
}

int runLogs(const LogsArgs& args) {
  int64_t since_ms = 0;
  if (!args.since.empty() || args.request_id.empty()) {
    auto since = parseSince(args.since.empty() ? "10m" : args.since, nowMs());
    if (!since) return reportError(since.error());
    since_ms = *since;
  }
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  int64_t after_id = 0;
  for (;;) {
    auto next = printNew(*client, args, since_ms, after_id);
    if (!next) return reportError(next.error());
    after_id = *next;
    if (!args.follow) return kExitOk;
    // Polling: the server pushes nothing. Ctrl-C ends the command (SIGINT's default action).
    std::this_thread::sleep_for(kFollowInterval);
  }
}

}  // namespace

void addLogsCommand(CLI::App& app) {
  auto args = std::make_shared<LogsArgs>();
  auto* cmd = app.add_subcommand("logs", "Print a function's invocation logs");
  cmd->add_option("name", args->name, "Function name")->required();
  cmd->add_option("--since", args->since,
                  "Start this long ago (30s, 10m, 2h, 1d; default 10m, or every kept log with "
                  "--request-id) or at this time (ISO 8601, e.g. 2026-11-24T21:00:00Z)");
  cmd->add_option("--request-id", args->request_id, "Only this invocation's logs");
  cmd->add_flag("--follow,-f", args->follow, "Keep printing new logs until interrupted (Ctrl-C)");
  addOutputOption(*cmd, args->output);
  addClientOptions(*cmd, args->client);
  cmd->footer(
      "--output json prints one JSON object per log record and line: {\"id\", \"function\", "
      "\"version\", \"request_id\", \"timestamp\", \"time\", \"message\"}.");
  onRun(*cmd, [args] { return runLogs(*args); });
}

}  // namespace gust::cli
