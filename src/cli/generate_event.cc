// gust generate-event KIND: prints a sample event to stdout.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/events.h"

namespace gust::cli {
namespace {

struct GenerateArgs {
  std::string kind;
  EventOptions options;
};

int runGenerate(GenerateArgs args) {
  args.options.now_ms = nowMs();
  auto event = sampleEvent(args.kind, args.options);
  if (!event) return reportError(event.error());
  fmt::print("{}\n", *event);
  return kExitOk;
}

}  // namespace

void addGenerateEventCommand(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand(
      "generate-event", "Print a sample event (API Gateway, schedule, topic) to invoke with");
  cmd->add_option("kind", args->kind, "Which event")
      ->required()
      ->check(CLI::IsMember(sampleEventKinds()));
  cmd->add_option("--method", args->options.method, "API Gateway: HTTP method")
      ->capture_default_str();
  cmd->add_option("--path", args->options.path, "API Gateway: request path")->capture_default_str();
  cmd->add_option("--query", args->options.query, "API Gateway: raw query string")
      ->capture_default_str();
  cmd->add_option("--body", args->options.body, "API Gateway: request body; topic: the message");
  cmd->footer(
      "Example: gust generate-event apigateway-v2 --method POST --body '{\"name\": \"Gust\"}' > "
      "event.json && gust invoke NAME --file event.json");
  onRun(*cmd, [args] { return runGenerate(*args); });
}

}  // namespace gust::cli
