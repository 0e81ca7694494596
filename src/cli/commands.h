// One registration function per subcommand file, and what they share.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace gust::cli {

void addInitCommand(CLI::App& app);
void addDeployCommand(CLI::App& app);
void addInvokeCommand(CLI::App& app);
void addFunctionCommands(CLI::App& app);  // ls, describe, rm
void addLogsCommand(CLI::App& app);
void addPublishCommand(CLI::App& app);
void addAliasCommand(CLI::App& app);
void addConcurrencyCommand(CLI::App& app);
void addCredentialsCommand(CLI::App& app);
void addApiKeyCommands(CLI::App& app);  // api-key, usage-plan, usage
void addDlqCommand(CLI::App& app);      // dlq ls|show|redrive|purge
void addScheduleCommand(CLI::App& app);
void addTopicCommand(CLI::App& app);
void addGenerateEventCommand(CLI::App& app);
void addCompletionCommand(CLI::App& app);

// Makes `command` run `run` when parsed; a non-zero exit code ends the program with it.
void onRun(CLI::App& command, std::function<int()> run);

}  // namespace gust::cli
