// gust init DIR: scaffold a function directory (gust.yaml + a handler) for a runtime.
#include <CLI/CLI.hpp>

#include <filesystem>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/scaffold.h"

namespace gust::cli {
namespace {

namespace fs = std::filesystem;

struct InitArgs {
  std::string dir;
  std::string runtime = "python3.11";
  std::string name;
};

int runInit(const InitArgs& args) {
  fs::path dir(args.dir);
  std::string name = args.name;
  if (name.empty()) {
    std::error_code ec;
    name = fs::absolute(dir, ec).lexically_normal().filename().string();
    if (name.empty())
      name = fs::absolute(dir, ec).lexically_normal().parent_path().filename().string();
  }
  auto files = scaffoldFiles(args.runtime, name);
  if (!files) return reportError(files.error());
  if (auto st = writeScaffold(dir, *files); !st) return reportError(st.error());
  fmt::print("Created {} ({}) in {}:\n", name, args.runtime, dir.string());
  for (const auto& file : *files) fmt::print("  {}\n", (dir / file.path).string());
  fmt::print(
      "Next:\n"
      "  gust local invoke {dir}                  # run it once here, no server needed\n"
      "  gust deploy {dir}                        # deploy it to the server\n"
      "  gust invoke {name} --payload '{{\"name\": \"Gust\"}}'\n",
      fmt::arg("dir", dir.string()), fmt::arg("name", name));
  return kExitOk;
}

}  // namespace

void addInitCommand(CLI::App& app) {
  auto args = std::make_shared<InitArgs>();
  auto* cmd = app.add_subcommand("init", "Create a function directory: gust.yaml and a handler");
  cmd->add_option("dir", args->dir, "Directory to create (or an existing one without those files)")
      ->required();
  cmd->add_option("--runtime,-r", args->runtime, "Runtime of the function")
      ->check(CLI::IsMember(scaffoldRuntimes()))
      ->capture_default_str();
  cmd->add_option("--name", args->name, "Function name (default: the directory's name)");
  cmd->footer("Never overwrites: fails if gust.yaml or the handler file already exists.");
  onRun(*cmd, [args] { return runInit(*args); });
}

}  // namespace gust::cli
