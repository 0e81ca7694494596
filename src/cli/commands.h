// One registration function per subcommand file.
#pragma once

namespace CLI {
class App;
}

namespace gust::cli {
void addDeployCommand(CLI::App& app);
void addInvokeCommand(CLI::App& app);
void addFunctionCommands(CLI::App& app);
void addLogsCommand(CLI::App& app);
}  // namespace gust::cli
