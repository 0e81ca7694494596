// gust invoke NAME: Lambda's Invoke. Synchronous by default (prints the function's result,
// exits 1 on a function error); --async queues it (Event) and prints the request id.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/json_util.h"
#include "cli/output.h"
#include "common/crypto.h"
#include "common/files.h"

namespace gust::cli {
namespace {

namespace json = boost::json;

struct InvokeArgs {
  ClientOptions client;
  std::string name;
  std::string payload;
  std::string file;
  std::string qualifier;
  bool async = false;
  bool tail = false;
  OutputFormat output = OutputFormat::kTable;
};

Result<std::string> readPayload(const InvokeArgs& args) {
  std::string text;
  std::string_view source = "--payload";
  if (args.payload == "-" || args.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    source = "stdin";
  } else if (!args.file.empty()) {
    GUST_ASSIGN_OR_RETURN(text, readFile(args.file));
    source = args.file;
  } else if (!args.payload.empty()) {
    text = args.payload;
  } else {
    return std::string("{}");
  }
  json::error_code ec;
  json::parse(text, ec);
  if (ec) {
    return Error::invalid(fmt::format(
        "the event from {} is not JSON ({}); an event is a JSON document, e.g. --payload "
        "'{{\"name\": \"world\"}}'",
        source, ec.message()));
  }
  return text;
}

// "errorType: errorMessage" from Lambda's error object, or the raw payload.
std::string describeFunctionError(const std::string& payload) {
  auto o = parseObject(payload);
  if (!o) return payload;
  return fmt::format("{}: {}", stringField(*o, "errorType"), stringField(*o, "errorMessage"));
}

int runInvoke(const InvokeArgs& args) {
  auto payload = readPayload(args);
  if (!payload) return reportError(payload.error());
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  std::vector<http::Header> headers;
  headers.push_back({"X-Amz-Invocation-Type", args.async ? "Event" : "RequestResponse"});
  if (args.tail) headers.push_back({"X-Amz-Log-Type", "Tail"});
  auto res = client->call(
      "POST", lambdaFunctionPath(args.name) + "/invocations" + qualifierQuery(args.qualifier),
      std::move(*payload), std::chrono::seconds(960), std::move(headers));
  if (!res) return reportError(res.error());
  std::string request_id(res->header("x-amzn-requestid").value_or(""));

  if (args.async) {
    if (args.output == OutputFormat::kJson) {
      printJson(json::object{{"status_code", res->status}, {"request_id", request_id}});
    } else {
      fmt::print("{}\n", request_id);
      fmt::print(stderr, "Queued. Its logs: gust logs {} --request-id {}\n", args.name, request_id);
    }
    return kExitOk;
  }

  std::string log_tail;
  if (auto log = res->header("x-amz-log-result")) {
    if (!base64Decode(*log, log_tail)) log_tail = "(the server sent a log tail that is not base64)";
  }
  std::string function_error(res->header("x-amz-function-error").value_or(""));
  if (args.output == OutputFormat::kJson) {
    json::object out{{"status_code", res->status},
                     {"request_id", request_id},
                     {"executed_version", res->header("x-amz-executed-version").value_or("")},
                     {"function_error", function_error},
                     {"payload", jsonOrString(res->body)}};
    if (args.tail) out["log_tail"] = log_tail;
    printJson(out);
  } else {
    if (args.tail) fmt::print(stderr, "{}", log_tail);
    fmt::print("{}\n", res->body);
  }
  if (!function_error.empty()) {
    fmt::print(stderr, "gust: function error: {}\n", describeFunctionError(res->body));
    return kExitFunctionError;
  }
  return kExitOk;
}

}  // namespace

void addInvokeCommand(CLI::App& app) {
  auto args = std::make_shared<InvokeArgs>();
  auto* cmd = app.add_subcommand("invoke", "Invoke a function and print its result");
  cmd->add_option("name", args->name, "Function name (NAME or NAME:QUALIFIER)")->required();
  auto* payload =
      cmd->add_option("--payload,-p", args->payload, "Event as JSON text ('-': read stdin)");
  cmd->add_option("--file,-f,--payload-file", args->file,
                  "Read the event from this file ('-': stdin)")
      ->excludes(payload);
  cmd->add_option("--qualifier,-q", args->qualifier, "Version or alias to invoke");
  auto* async =
      cmd->add_flag("--async", args->async,
                    "Queue the invocation (Lambda's Event type) and print its request id");
  cmd->add_flag("--tail", args->tail, "Also print the invocation's log (last 4 KB) to stderr")
      ->excludes(async);
  addOutputOption(*cmd, args->output);
  addClientOptions(*cmd, args->client);
  cmd->footer(
      "Without --payload or --file the event is {}.\n"
      "--output json prints {\"status_code\", \"request_id\", \"executed_version\", "
      "\"function_error\", \"payload\"[, \"log_tail\"]}.\n"
      "Exit codes: 0 success, 1 the function failed, 2 any other error.");
  onRun(*cmd, [args] { return runInvoke(*args); });
}

}  // namespace gust::cli
