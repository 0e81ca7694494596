// Built-in runtimes: their files on disk and the command and environment of an instance.
#include "runtime/runtime.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/files.h"

namespace gust::runtime {

namespace embedded {
extern const std::string_view kPythonBootstrap;
}  // namespace embedded

namespace {

// Debian's interpreter, by absolute path: never whichever python3 comes first on a PATH.
//   -I  isolated: ignores PYTHON* variables and the user site; the script's dir is not on sys.path
//   -S  no site module: host-installed dist-packages stay invisible, as on Lambda
//   -B  no .pyc writes into the (read-only) code dir, as on Lambda's read-only /var/task
//   -X utf8  UTF-8 I/O whatever locales the host has installed (Lambda's LANG is en_US.UTF-8)
constexpr std::string_view kPythonInterpreter = "/usr/bin/python3";

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
  static const std::vector<std::string> kRuntimes = {"python3.11"};
  return kRuntimes;
}

bool isSupportedRuntime(std::string_view name) {
  const auto& all = supportedRuntimes();
  return std::find(all.begin(), all.end(), name) != all.end();
}

Status installRuntimeFiles(const std::filesystem::path& dir) {
  std::filesystem::path python_dir = dir / "python";
  std::error_code ec;
  std::filesystem::create_directories(python_dir, ec);
  if (ec)
    return Error::internal(
        fmt::format("cannot create the runtime dir {}: {}", python_dir.string(), ec.message()));
  // Instances run as an unprivileged user: they must be able to traverse and read, not write.
  for (const auto& d : {dir, python_dir}) {
    if (::chmod(d.c_str(), 0755) != 0)
      return Error::fromErrno(fmt::format("cannot chmod {}", d.string()), errno);
  }
  std::filesystem::path bootstrap = python_dir / "bootstrap.py";
  auto existing = readFile(bootstrap);
  if (existing.ok() && *existing == embedded::kPythonBootstrap) {
    struct stat st {};
    if (::stat(bootstrap.c_str(), &st) == 0 && (st.st_mode & 07777) == 0444) return okStatus();
  }
  return writeFileAtomic(bootstrap, embedded::kPythonBootstrap, 0444);
}

Result<LaunchCommand> launchCommand(const FunctionInfo& fn, const sandbox::Layout& layout) {
  if (fn.runtime != "python3.11")
    return Error::invalid(
        fmt::format("unsupported runtime '{}'; supported: python3.11", fn.runtime));
  LaunchCommand cmd;
  cmd.argv = {std::string(kPythonInterpreter),
              "-I",
              "-S",
              "-B",
              "-X",
              "utf8",
              (layout.runtime_dir / "python" / "bootstrap.py").string()};

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
      {"AWS_EXECUTION_ENV", "AWS_Lambda_" + fn.runtime},
      {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + fn.name},
      {"AWS_LAMBDA_LOG_STREAM_NAME", logStreamName(fn.version)},
      {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
      {"LAMBDA_TASK_ROOT", layout.task_root.string()},
      {"LAMBDA_RUNTIME_DIR", layout.runtime_dir.string()},
      {"_HANDLER", fn.handler},
      {"TZ", ":UTC"},
  };
  for (auto& [key, value] : reserved) env[key] = std::move(value);

  cmd.env.reserve(env.size());
  for (const auto& [key, value] : env) cmd.env.push_back(key + "=" + value);
  return cmd;
}

}  // namespace gust::runtime
