// gust deploy [DIR]: validate DIR/gust.yaml, zip DIR, upload, print what was deployed.
// Progress goes to stderr, the result to stdout.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/json_util.h"
#include "cli/output.h"
#include "common/files.h"
#include "control/function_config.h"
#include "control/zip.h"

namespace gust::cli {
namespace {

struct DeployArgs {
  ClientOptions client;
  std::string dir = ".";
  OutputFormat output = OutputFormat::kTable;
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int runDeploy(const DeployArgs& args) {
  std::filesystem::path dir(args.dir);
  auto manifest_path = dir / "gust.yaml";
  auto text = readFile(manifest_path);
  if (!text) {
    return reportError(Error::invalid(
        fmt::format("{}; a function directory needs a gust.yaml: create one with `gust init DIR`",
                    text.error().message)));
  }
  auto config = control::parseManifest(*text, manifest_path.string());
  if (!config) return reportError(config.error());

  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());

  auto start = std::chrono::steady_clock::now();
  fmt::print(stderr, "Packaging {} ...", dir.string());
  std::fflush(stderr);
  auto zip = control::zipDirectory(dir);
  if (!zip) {
    fmt::print(stderr, "\n");
    return reportError(zip.error());
  }
  fmt::print(stderr, " {} zip in {:.1f} s\n", humanBytes(zip->size()), secondsSince(start));
  start = std::chrono::steady_clock::now();
  fmt::print(stderr, "Uploading {} to {} ...", config->name, client->endpointUrl());
  std::fflush(stderr);
  auto res = client->call("POST", "/api/v1/functions", control::deployRequestToJson(*config, *zip),
                          std::chrono::minutes(2));
  if (!res) {
    fmt::print(stderr, "\n");
    return reportError(res.error());
  }
  fmt::print(stderr, " done in {:.1f} s\n", secondsSince(start));
  auto record = control::functionFromJson(res->body);
  if (!record) return reportError(record.error());
  bool created = res->status == 201;

  if (args.output == OutputFormat::kJson) {
    printJson(boost::json::object{{"name", record->name},
                                  {"created", created},
                                  {"version", "$LATEST"},
                                  {"revision", record->revision},
                                  {"runtime", record->runtime},
                                  {"handler", record->handler},
                                  {"memory", record->memory_mb},
                                  {"timeout", record->timeout_s},
                                  {"code_sha256", record->code_sha256},
                                  {"code_size", record->code_size},
                                  {"last_modified", record->last_modified}});
  } else {
    fmt::print(
        "{} {}: {} {}, {} MB, {} s timeout, version $LATEST revision {}, code sha256 {} ({})\n",
        created ? "Created" : "Updated", record->name, record->runtime, record->handler,
        record->memory_mb, record->timeout_s, record->revision, record->code_sha256.substr(0, 12),
        humanBytes(static_cast<uint64_t>(record->code_size)));
    fmt::print(stderr,
               "Invoke it with: gust invoke {} --payload '{{}}'; publish a version with: gust "
               "publish {}\n",
               record->name, record->name);
  }
  return kExitOk;
}

}  // namespace

void addDeployCommand(CLI::App& app) {
  auto args = std::make_shared<DeployArgs>();
  auto* cmd =
      app.add_subcommand("deploy", "Deploy (create or update) the function described by gust.yaml");
  cmd->add_option("dir", args->dir, "Directory with gust.yaml and the function's code")
      ->capture_default_str();
  addOutputOption(*cmd, args->output);
  addClientOptions(*cmd, args->client);
  onRun(*cmd, [args] { return runDeploy(*args); });
}

}  // namespace gust::cli
