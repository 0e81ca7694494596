#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace gust::cli {

void onRun(CLI::App& command, std::function<int()> run) {
  command.callback([run = std::move(run)] {
    if (int code = run(); code != kExitOk) throw CLI::RuntimeError(code);
  });
}

void addClientCommands(CLI::App& app) {
  addInitCommand(app);
  addDeployCommand(app);
  addInvokeCommand(app);
  addLogsCommand(app);
  addFunctionCommands(app);
  addPublishCommand(app);
  addAliasCommand(app);
  addConcurrencyCommand(app);
  addCredentialsCommand(app);
  addApiKeyCommands(app);
  addDlqCommand(app);
  addScheduleCommand(app);
  addTopicCommand(app);
  addGenerateEventCommand(app);
  addCompletionCommand(app);
}

}  // namespace gust::cli
