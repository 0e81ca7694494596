// `gust local invoke DIR`: runs the function in DIR once on the same engine and sandbox as
// `gust serve`, without a server (like `sam local invoke`). The code is packed and extracted as
// a deploy would (so what runs is what would be deployed) into a temporary directory that is
// removed afterwards. The result goes to stdout, the logs (START/END/REPORT) to stderr.
#include "exe/local_invoke.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/cli.h"
#include "common/crypto.h"
#include "common/defer.h"
#include "common/files.h"
#include "control/function_config.h"
#include "control/zip.h"
#include "engine/engine.h"
#include "exe/engine_host.h"

namespace gust::exe {
namespace {

namespace fs = std::filesystem;

// Beyond the function's own timeout: init (10 s) and the sandbox's start, with room to spare.
constexpr std::chrono::seconds kInvokeSlack{60};

struct LocalInvokeArgs {
  std::string dir = ".";
  std::string event_file;
  std::string sandbox;  // empty: namespace when root, else process
};

int fail(const Error& error) {
  fmt::print(stderr, "gust: error: {}\n", error.message);
  return cli::kExitError;
}

Result<std::string> readEvent(const std::string& file) {
  std::string text;
  if (file.empty()) return std::string("{}");
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    GUST_ASSIGN_OR_RETURN(text, readFile(file));
  }
  boost::json::error_code ec;
  boost::json::parse(text, ec);
  if (ec) {
    return Error::invalid(fmt::format(
        "the event in {} is not JSON ({}); write one with `gust generate-event KIND > event.json`",
        file == "-" ? "stdin" : file, ec.message()));
  }
  return text;
}

// "errorType: errorMessage" of Lambda's error object, or the payload itself.
std::string describeFunctionError(const std::string& payload) {
  boost::json::error_code ec;
  auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return payload;
  auto field = [&](const char* key) -> std::string {
    const auto* p = v.get_object().if_contains(key);
    return p && p->is_string() ? std::string(p->get_string()) : std::string();
  };
  return fmt::format("{}: {}", field("errorType"), field("errorMessage"));
}

// A fresh private directory under $TMPDIR (or /tmp) that the sandbox's user can traverse.
Result<fs::path> makeWorkDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = fmt::format("{}/gust-local-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (::mkdtemp(pattern.data()) == nullptr)
    return Error::fromErrno(fmt::format("cannot create a temporary directory {}; set TMPDIR to a "
                                        "writable directory",
                                        pattern),
                            errno);
  // 0711: instances run as another user and must reach code/ and runtime/ but list nothing.
  if (::chmod(pattern.c_str(), 0711) != 0)
    return Error::fromErrno("cannot chmod " + pattern, errno);
  return fs::path(pattern);
}

int runLocalInvoke(const LocalInvokeArgs& args) {
  // Engine and sandbox messages go to stderr; stdout carries only the function's result.
  spdlog::set_default_logger(spdlog::stderr_color_mt("gust-local"));
  spdlog::set_level(spdlog::level::warn);

  fs::path dir(args.dir);
  auto manifest_text = readFile(dir / "gust.yaml");
  if (!manifest_text) {
    return fail(Error::invalid(
        fmt::format("{}; a function directory needs a gust.yaml: create one with `gust init DIR`",
                    manifest_text.error().message)));
  }
  auto config = control::parseManifest(*manifest_text, (dir / "gust.yaml").string());
  if (!config) return fail(config.error());
  auto event = readEvent(args.event_file);
  if (!event) return fail(event.error());

  std::string sandbox = args.sandbox;
  if (sandbox.empty()) {
    sandbox = ::geteuid() == 0 ? "namespace" : "process";
    if (sandbox == "process") {
      fmt::print(stderr,
                 "gust local: not running as root, so the function runs in the process sandbox "
                 "(no isolation, no memory limit); run as root for the namespace sandbox\n");
    }
  }

  auto zip = control::zipDirectory(dir);
  if (!zip) return fail(zip.error());
  auto work = makeWorkDir();
  if (!work) return fail(work.error());
  Defer remove_work([&work] {
    std::error_code ec;
    fs::remove_all(*work, ec);
    if (ec) fmt::print(stderr, "gust local: cannot remove {}: {}\n", work->string(), ec.message());
  });
  if (auto st = control::extractZip(*zip, *work / "code"); !st) return fail(st.error());

  auto spec = std::make_shared<engine::FunctionSpec>();
  spec->name = config->name;
  spec->runtime = config->runtime;
  spec->handler = config->handler;
  spec->memory_mb = config->memory_mb;
  spec->timeout_s = config->timeout_s;
  spec->environment = config->environment;
  spec->code_dir = *work / "code";
  spec->code_sha256 = sha256Hex(*zip);
  spec->revision = 1;
  spec->ephemeral_storage_mb = config->ephemeral_storage_mb;
  spec->network = config->network == "egress" ? sandbox::Network::kEgress : sandbox::Network::kNone;

  EngineHostOptions options;
  options.data_dir = *work;
  options.sandbox = sandbox;
  // A fixed parent shared by every local run: each run's groups have their own names, and no
  // run removes another's (a concurrent run's groups are not stale).
  options.cgroup_parent = "gust-local";
  options.cleanup_stale_cgroups = false;
  options.engine.prestarted_per_runtime = 0;  // one invocation: nothing to pre-start
  auto host = EngineHost::start(std::move(options));
  if (!host) return fail(host.error());

  engine::InvokeRequest request;
  request.function = spec;
  request.payload = std::move(*event);
  std::promise<Result<engine::InvokeResult>> promise;
  auto future = promise.get_future();
  (*host)->engine().invoke(std::move(request), [&promise](Result<engine::InvokeResult> result) {
    promise.set_value(std::move(result));
  });
  if (future.wait_for(std::chrono::seconds(config->timeout_s) + kInvokeSlack) !=
      std::future_status::ready) {
    (*host)->engine().shutdown();  // completes the invocation with kUnavailable
  }
  auto result = future.get();
  if (!result) return fail(result.error());
  fmt::print(stderr, "{}", result->logs);
  fmt::print("{}\n", result->payload);
  std::fflush(stdout);
  if (result->function_error) {
    fmt::print(stderr, "gust: function error: {}\n", describeFunctionError(result->payload));
    return cli::kExitFunctionError;
  }
  return cli::kExitOk;
}

}  // namespace

void addLocalCommand(CLI::App& app) {
  auto* local = app.add_subcommand("local", "Run functions on this machine, without a server");
  local->require_subcommand(1);
  auto args = std::make_shared<LocalInvokeArgs>();
  auto* cmd = local->add_subcommand(
      "invoke", "Run the function in DIR once and print its result (logs on stderr)");
  cmd->add_option("dir", args->dir, "Directory with gust.yaml and the function's code")
      ->capture_default_str();
  cmd->add_option("--event,-e", args->event_file, "The event: a JSON file, or '-' for stdin");
  cmd->add_option("--sandbox", args->sandbox,
                  "namespace (isolated; needs root) or process (no isolation); default: "
                  "namespace when root, else process")
      ->check(CLI::IsMember({"namespace", "process"}));
  cmd->footer(
      "Without --event the event is {}. Sample events: gust generate-event KIND.\n"
      "Exit codes: 0 success, 1 the function failed, 2 any other error.");
  cmd->callback([args] {
    if (int code = runLocalInvoke(*args); code != cli::kExitOk) throw CLI::RuntimeError(code);
  });
}

}  // namespace gust::exe
