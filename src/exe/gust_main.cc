// The gust binary: wiring only. Client subcommands come from src/cli, `serve` from serve.cc.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "cli/cli.h"
#include "exe/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"Gust: serverless functions (AWS Lambda compatible) on your own machines"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gust ") + GUST_VERSION);
  gust::exe::addServeCommand(app);
  gust::cli::addClientCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "gust: error: {}\n", e.what());
    return gust::cli::kExitError;
  }
  return 0;
}
