// Built-in runtimes: their files on disk and the command and environment of an instance.
#include "runtime/runtime.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/crypto.h"
#include "common/files.h"

namespace gust::runtime {

namespace embedded {
extern const std::string_view kPythonBootstrap;
extern const std::string_view kNodeBootstrap;
extern const std::string_view kExecShim;
}  // namespace embedded

namespace {

// Debian's interpreter, by absolute path: never whichever python3 comes first on a PATH.
//   -I  isolated: ignores PYTHON* variables and the user site; the script's dir is not on sys.path
//   -S  no site module: host-installed dist-packages stay invisible, as on Lambda
//   -B  no .pyc writes into the (read-only) code dir, as on Lambda's read-only /var/task
//   -X utf8  UTF-8 I/O whatever locales the host has installed (Lambda's LANG is en_US.UTF-8)
constexpr std::string_view kPythonInterpreter = "/usr/bin/python3";
// Debian's Node.js (v20), by absolute path for the same reason.
constexpr std::string_view kNodeInterpreter = "/usr/bin/node";

// The runtimes' files under the runtime dir: (subdir, file name, contents).
struct RuntimeFile {
  const char* dir;
  const char* name;
  const std::string_view* contents;
};
constexpr RuntimeFile kRuntimeFiles[] = {
    {"python", "bootstrap.py", &embedded::kPythonBootstrap},
    {"node", "bootstrap.cjs", &embedded::kNodeBootstrap},
    {"exec", "shim.py", &embedded::kExecShim},
};

std::vector<std::string> pythonCommand(const std::filesystem::path& script) {
  return {std::string(kPythonInterpreter), "-I", "-S", "-B", "-X", "utf8", script.string()};
}

// Defaults that a function's own variables may override (as on Lambda).
std::map<std::string, std::string> overridableDefaults() {
  return {
      {"LANG", "en_US.UTF-8"},
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
  };
}

// Lambda's log stream name: "YYYY/MM/DD/[version]<32 hex>".
std::string logStreamName(const std::string& version) {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  return fmt::format("{:04}/{:02}/{:02}/[{}]{}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     version, randomHex(16));
}

}  // namespace

const std::vector<std::string>& supportedRuntimes() {
  static const std::vector<std::string> kRuntimes = {"python3.11", "nodejs20.x", "provided",
                                                     "exec"};
  return kRuntimes;
}

bool isSupportedRuntime(std::string_view name) {
  const auto& all = supportedRuntimes();
  return std::find(all.begin(), all.end(), name) != all.end();
}

Status installRuntimeFiles(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error::internal(
        fmt::format("cannot create the runtime dir {}: {}", dir.string(), ec.message()));
  // Instances run as an unprivileged user: they must be able to traverse and read, not write.
  if (::chmod(dir.c_str(), 0755) != 0)
    return Error::fromErrno(fmt::format("cannot chmod {}", dir.string()), errno);
  for (const RuntimeFile& file : kRuntimeFiles) {
    std::filesystem::path sub = dir / file.dir;
    std::filesystem::create_directories(sub, ec);
    if (ec)
      return Error::internal(
          fmt::format("cannot create the runtime dir {}: {}", sub.string(), ec.message()));
    if (::chmod(sub.c_str(), 0755) != 0)
      return Error::fromErrno(fmt::format("cannot chmod {}", sub.string()), errno);
    std::filesystem::path target = sub / file.name;
    auto existing = readFile(target);
    if (existing.ok() && *existing == *file.contents) {
      struct stat st {};
      if (::stat(target.c_str(), &st) == 0 && (st.st_mode & 07777) == 0444) continue;
    }
    GUST_TRY(writeFileAtomic(target, *file.contents, 0444));
  }
  return okStatus();
}

Result<LaunchCommand> launchCommand(const FunctionInfo& fn, const sandbox::Layout& layout) {
  LaunchCommand cmd;
  std::map<std::string, std::string> runtime_env;
  if (fn.runtime == "python3.11") {
    cmd.argv = pythonCommand(layout.runtime_dir / "python" / "bootstrap.py");
  } else if (fn.runtime == "nodejs20.x") {
    // As Lambda starts Node: a heap limit below the memory limit, so V8 collects before the
    // sandbox's OOM killer strikes, and the larger HTTP header limit.
    int heap_mb = std::max(fn.memory_mb * 9 / 10, 32);
    cmd.argv = {std::string(kNodeInterpreter), "--expose-gc", "--max-http-header-size=81920",
                fmt::format("--max-old-space-size={}", heap_mb),
                (layout.runtime_dir / "node" / "bootstrap.cjs").string()};
    // Lambda's NODE_PATH, with the layout's directories (layers under /opt are not supported).
    runtime_env["NODE_PATH"] =
        fmt::format("/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:{}:{}:{}",
                    (layout.runtime_dir / "node_modules").string(), layout.runtime_dir.string(),
                    layout.task_root.string());
  } else if (fn.runtime == "exec") {
    cmd.argv = pythonCommand(layout.runtime_dir / "exec" / "shim.py");
  } else if (fn.runtime == "provided") {
    // Lambda's custom runtime: the function's own executable `bootstrap`, talking to the
    // Runtime API whose address the sandbox puts in AWS_LAMBDA_RUNTIME_API.
    cmd.argv = {(layout.task_root / "bootstrap").string()};
    cmd.runtime_api = true;
  } else {
    return Error::invalid(fmt::format("unsupported runtime '{}'; supported: {}", fn.runtime,
                                      fmt::join(supportedRuntimes(), ", ")));
  }

  // Later entries win: defaults, then the function's variables, then Lambda's reserved ones.
  std::map<std::string, std::string> env = overridableDefaults();
  for (const auto& [key, value] : fn.environment) env[key] = value;
  std::map<std::string, std::string> reserved = {
      {"AWS_LAMBDA_FUNCTION_NAME", fn.name},
      {"AWS_LAMBDA_FUNCTION_VERSION", fn.version},
      {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(fn.memory_mb)},
      {"AWS_LAMBDA_FUNCTION_TIMEOUT", std::to_string(fn.timeout_s)},
      {"AWS_REGION", fn.region},
      {"AWS_DEFAULT_REGION", fn.region},
      {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + fn.name},
      {"AWS_LAMBDA_LOG_STREAM_NAME", logStreamName(fn.version)},
      {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
      {"LAMBDA_TASK_ROOT", layout.task_root.string()},
      {"LAMBDA_RUNTIME_DIR", layout.runtime_dir.string()},
      {"_HANDLER", fn.handler},
      {"TZ", ":UTC"},
  };
  // Lambda sets no execution environment name for custom runtimes.
  if (fn.runtime != "provided") reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.runtime;
  for (auto& [key, value] : runtime_env) reserved[key] = std::move(value);
  for (auto& [key, value] : reserved) env[key] = std::move(value);

  cmd.env.reserve(env.size());
  for (const auto& [key, value] : env) cmd.env.push_back(key + "=" + value);
  return cmd;
}

bool supportsDeferredInit(std::string_view runtime) { return runtime == "python3.11"; }

Result<LaunchCommand> launchGenericCommand(std::string_view runtime,
                                           const sandbox::Layout& layout) {
  if (!supportsDeferredInit(runtime))
    return Error::invalid(
        fmt::format("runtime '{}' cannot start instances before their function is known", runtime));
  LaunchCommand cmd;
  cmd.argv = pythonCommand(layout.runtime_dir / "python" / "bootstrap.py");
  cmd.argv.push_back("--deferred-init");
  std::map<std::string, std::string> env = overridableDefaults();
  env["TZ"] = ":UTC";
  env["LAMBDA_TASK_ROOT"] = layout.task_root.string();
  env["LAMBDA_RUNTIME_DIR"] = layout.runtime_dir.string();
  for (const auto& [key, value] : env) cmd.env.push_back(key + "=" + value);
  return cmd;
}

}  // namespace gust::runtime
