// The gust binary: wiring only. Client subcommands come from src/cli, `serve` from serve.cc and
// `local invoke` from local_invoke.cc.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "cli/cli.h"
#include "exe/local_invoke.h"
#include "exe/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"Gust: serverless functions (AWS Lambda compatible) on your own machines"};
  app.name("gust");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gust ") + GUST_VERSION);
  app.footer(
      "Start with `gust init DIR`, `gust local invoke DIR`, then `gust serve` and `gust deploy "
      "DIR`.\nEach command's options: gust COMMAND --help. Shell completion: source <(gust "
      "completion bash)");
  gust::exe::addServeCommand(app);
  gust::cli::addClientCommands(app);
  gust::exe::addLocalCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit 0; usage errors take the CLI's "other error" code.
    int code = app.exit(e);
    return code == 0 || dynamic_cast<const CLI::RuntimeError*>(&e) ? code : gust::cli::kExitError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gust: error: {}\n", e.what());
    return gust::cli::kExitError;
  }
  return 0;
}
