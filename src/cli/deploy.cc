// gust deploy DIR: validate DIR/gust.yaml, zip DIR, upload, print what was deployed.
#include <CLI/CLI.hpp>

#include <filesystem>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "common/files.h"
#include "control/function_config.h"
#include "control/zip.h"

namespace gust::cli {
namespace {

struct DeployArgs {
  ClientOptions client;
  std::string dir;
};

std::string humanBytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KB", static_cast<double>(n) / 1024);
  return fmt::format("{:.1f} MB", static_cast<double>(n) / (1024 * 1024));
}

int runDeploy(const DeployArgs& args) {
  std::filesystem::path dir(args.dir);
  auto manifest_path = dir / "gust.yaml";
  auto text = readFile(manifest_path);
  if (!text) {
    return reportError(Error::invalid(fmt::format(
        "{}; a function directory needs a gust.yaml (see examples/hello-python/gust.yaml)",
        text.error().message)));
  }
  auto config = control::parseManifest(*text, manifest_path.string());
  if (!config) return reportError(config.error());

  fmt::print(stderr, "Packaging {} ...\n", dir.string());
  auto zip = control::zipDirectory(dir);
  if (!zip) return reportError(zip.error());
  fmt::print(stderr, "Uploading {} ({}) ...\n", config->name, humanBytes(zip->size()));

  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("POST", "/api/v1/functions", control::deployRequestToJson(*config, *zip),
                          std::chrono::minutes(2));
  if (!res) return reportError(res.error());
  auto record = control::functionFromJson(res->body);
  if (!record) return reportError(record.error());
  fmt::print("{} {}: {} {}, {} MB, {} s timeout, revision {}, code sha256 {}\n",
             res->status == 201 ? "Created" : "Updated", record->name, record->runtime,
             record->handler, record->memory_mb, record->timeout_s, record->revision,
             record->code_sha256.substr(0, 12));
  fmt::print(stderr, "Invoke it with: gust invoke {} --payload '{{}}'\n", record->name);
  return kExitOk;
}

}  // namespace

void addDeployCommand(CLI::App& app) {
  auto args = std::make_shared<DeployArgs>();
  auto* cmd = app.add_subcommand("deploy", "Deploy (create or update) the function in DIR");
  cmd->add_option("dir", args->dir, "Directory with gust.yaml and the function's code")->required();
  addClientOptions(*cmd, args->client);
  cmd->callback([args] {
    if (int code = runDeploy(*args); code != kExitOk) throw CLI::RuntimeError(code);
  });
}

}  // namespace gust::cli
