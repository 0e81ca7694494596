// gust logs NAME: prints a function's invocation logs (START ... REPORT) from the server's store,
// oldest first; --follow keeps polling for new ones until interrupted.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"

namespace gust::cli {
namespace {

constexpr int kPageSize = 1000;
constexpr int kMaxPagesPerPoll = 100;  // bounds one poll at 100 000 records
constexpr std::chrono::seconds kFollowInterval{1};

struct LogsArgs {
  ClientOptions client;
  std::string name;
  std::string since = "10m";
  std::string request_id;
  bool follow = false;
};

// "10m", "2h", "30s", "1d" become epoch milliseconds that long ago; anything else (ISO 8601 or
// epoch milliseconds) is passed to the server, which validates it.
std::string resolveSince(const std::string& since) {
  if (since.size() < 2) return since;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(since.data(), since.data() + since.size() - 1, n);
  if (ec != std::errc() || end != since.data() + since.size() - 1 || n < 0) return since;
  int64_t unit_ms = 0;
  switch (since.back()) {
    case 's':
      unit_ms = 1000;
      break;
    case 'm':
      unit_ms = 60 * 1000;
      break;
    case 'h':
      unit_ms = 3600 * 1000;
      break;
    case 'd':
      unit_ms = 86400 * 1000;
      break;
    default:
      return since;
  }
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return std::to_string(now - n * unit_ms);
}

// Fetches and prints every record after `after_id`; returns the last id seen.
Result<int64_t> printNew(const Client& client, const LogsArgs& args, const std::string& since,
                         int64_t after_id) {
  for (int page = 0; page < kMaxPagesPerPoll; ++page) {
    std::string target = fmt::format("/api/v1/functions/{}/logs?since={}&limit={}&after_id={}",
                                     http::encodePathSegment(args.name),
                                     http::encodePathSegment(since), kPageSize, after_id);
    if (!args.request_id.empty())
      target += "&request_id=" + http::encodePathSegment(args.request_id);
    GUST_ASSIGN_OR_RETURN(http::Response res,
                          client.call("GET", target, "", std::chrono::seconds(30)));
    boost::json::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("logs") ||
        !v.as_object().at("logs").is_array())
      return Error::internal("unexpected answer from the server: " + res.body.substr(0, 200));
    const auto& logs = v.as_object().at("logs").as_array();
    for (const auto& entry : logs) {
      const auto* obj = entry.if_object();
      if (!obj) continue;
      if (const auto* message = obj->if_contains("message"); message && message->is_string())
        fmt::print("{}", std::string_view(message->get_string()));
      if (const auto* id = obj->if_contains("id"); id && id->is_int64()) after_id = id->get_int64();
    }
    std::fflush(stdout);
    if (logs.size() < static_cast<size_t>(kPageSize)) break;
  }
  return after_id;
}

int runLogs(const LogsArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  std::string since = resolveSince(args.since);
  int64_t after_id = 0;
  for (;;) {
    auto last = printNew(*client, args, since, after_id);
    if (!last) return reportError(last.error());
    after_id = *last;
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
                  "Start from this long ago (30s, 10m, 2h, 1d) or this time (ISO 8601 UTC or "
                  "epoch milliseconds)")
      ->capture_default_str();
  cmd->add_option("--request-id", args->request_id, "Only this invocation's logs");
  cmd->add_flag("--follow,-f", args->follow, "Keep printing new logs until interrupted (Ctrl-C)");
  addClientOptions(*cmd, args->client);
  cmd->callback([args] {
    if (int code = runLogs(*args); code != kExitOk) throw CLI::RuntimeError(code);
  });
}

}  // namespace gust::cli
