// The gust command-line client: subcommands that talk to a running `gust serve` over its
// control API. `serve` itself is wired in src/exe.
#pragma once

namespace CLI {
class App;
}

namespace gust::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFunctionError = 1;  // the function ran and failed
inline constexpr int kExitError = 2;          // bad input, server unreachable, server error

// Registers deploy, invoke, ls, describe, rm and logs on `app`.
void addClientCommands(CLI::App& app);

}  // namespace gust::cli
