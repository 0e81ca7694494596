#include "cli/cli.h"

#include "cli/commands.h"

namespace gust::cli {

void addClientCommands(CLI::App& app) {
  addDeployCommand(app);
  addInvokeCommand(app);
  addFunctionCommands(app);
  addLogsCommand(app);
}

}  // namespace gust::cli
