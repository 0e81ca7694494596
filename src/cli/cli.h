// The gust command-line client: subcommands that talk to a running `gust serve` (over its
// control API and its Lambda API), scaffold and deploy functions, and print sample events.
// `serve` and `local invoke` are wired in src/exe.
#pragma once

namespace CLI {
class App;
}

namespace gust::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFunctionError = 1;  // the function ran and failed
inline constexpr int kExitError = 2;          // bad input, server unreachable, server error

// Registers every client subcommand (init, deploy, invoke, logs, ls, describe, rm, publish,
// alias, concurrency, credentials, generate-event, completion) on `app`.
void addClientCommands(CLI::App& app);

}  // namespace gust::cli
