// gust invoke NAME: synchronous invocation; prints the result, exits 1 on a function error.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "common/crypto.h"
#include "common/files.h"

namespace gust::cli {
namespace {

struct InvokeArgs {
  ClientOptions client;
  std::string name;
  std::string payload;
  std::string payload_file;
  bool tail = false;
};

Result<std::string> readPayload(const InvokeArgs& args) {
  if (!args.payload.empty()) return args.payload;
  if (!args.payload_file.empty()) return readFile(args.payload_file);
  if (!::isatty(STDIN_FILENO)) {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  return std::string("{}");
}

// "errorType: errorMessage" from Lambda's error object, or the raw payload.
std::string describeFunctionError(const std::string& payload) {
  boost::json::error_code ec;
  auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return payload;
  const auto& o = v.as_object();
  auto str = [&](const char* key) -> std::string {
    const auto* p = o.if_contains(key);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  return fmt::format("{}: {}", str("errorType"), str("errorMessage"));
}

int runInvoke(const InvokeArgs& args) {
  auto payload = readPayload(args);
  if (!payload) return reportError(payload.error());
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  std::vector<http::Header> headers;
  if (args.tail) headers.push_back({"X-Amz-Log-Type", "Tail"});
  auto res = client->call(
      "POST", fmt::format("/api/v1/functions/{}/invoke", http::encodePathSegment(args.name)),
      std::move(*payload), std::chrono::seconds(960), std::move(headers));
  if (!res) return reportError(res.error());
  if (args.tail) {
    if (auto log = res->header("x-amz-log-result")) {
      std::string decoded;
      if (base64Decode(*log, decoded)) fmt::print(stderr, "{}", decoded);
    }
  }
  fmt::print("{}\n", res->body);
  if (res->header("x-amz-function-error")) {
    fmt::print(stderr, "gust: function error: {}\n", describeFunctionError(res->body));
    return kExitFunctionError;
  }
  return kExitOk;
}

}  // namespace

void addInvokeCommand(CLI::App& app) {
  auto args = std::make_shared<InvokeArgs>();
  auto* cmd = app.add_subcommand("invoke", "Invoke a function synchronously and print its result");
  cmd->add_option("name", args->name, "Function name")->required();
  auto* payload = cmd->add_option("--payload", args->payload, "Event as JSON text");
  cmd->add_option("--payload-file", args->payload_file, "Read the event from this file")
      ->excludes(payload);
  cmd->add_flag("--tail", args->tail, "Also print the invocation's log (last 4 KB) to stderr");
  addClientOptions(*cmd, args->client);
  cmd->footer(
      "Without --payload or --payload-file the event is read from stdin when it is not a "
      "terminal, else {}.\nExit codes: 0 success, 1 the function failed, 2 any other error.");
  cmd->callback([args] {
    if (int code = runInvoke(*args); code != kExitOk) throw CLI::RuntimeError(code);
  });
}

}  // namespace gust::cli
