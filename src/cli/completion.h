// `gust completion bash`: a bash completion script generated from the command tree itself, so
// it always knows every command, subcommand and flag, and the choices of options and arguments
// that have a fixed set (--output table|json, generate-event's kinds, ...).
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace gust::cli {

// The script for the command tree under `root` (the `gust` app). Non-const: CLI11 gives access
// to an option's validators (where the choices are) only through non-const options.
std::string bashCompletionScript(CLI::App& root);

}  // namespace gust::cli
