// Built-in runtimes: their files on disk and the command and environment of an instance.
#include "runtime/runtime.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
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
// Lambda's locale.
constexpr std::string_view kDefaultLang = "en_US.UTF-8";

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

// As Lambda's bootstrap starts Node: V8's heap sized from the memory (a tenth for the young
// generation, the rest for the old), so V8 collects before the sandbox's OOM killer strikes, and
// the larger HTTP header limit. Both heap flags are explicit, so the heap does not depend on
// the memory limit the process happened to start under (Node sizes an unflagged heap from its
// cgroup): a pre-started instance for `memory_mb` gets exactly a fresh instance's heap.
std::vector<std::string> nodeCommand(const sandbox::Layout& layout, int memory_mb) {
  int new_space_mb = memory_mb / 10;
  int semi_space_mb = std::max(new_space_mb / 2, 1);
  int old_space_mb = std::max(memory_mb - new_space_mb, 32);
  return {std::string(kNodeInterpreter),
          "--expose-gc",
          "--max-http-header-size=81920",
          fmt::format("--max-semi-space-size={}", semi_space_mb),
          fmt::format("--max-old-space-size={}", old_space_mb),
          (layout.runtime_dir / "node" / "bootstrap.cjs").string()};
}

// Lambda's NODE_PATH, with the layout's directories (layers under /opt are not supported).
std::string nodePath(const sandbox::Layout& layout) {
  return fmt::format("/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:{}:{}:{}",
                     (layout.runtime_dir / "node_modules").string(), layout.runtime_dir.string(),
                     layout.task_root.string());
}

// Variables read only when a process starts (by the dynamic loader, libc, ICU, Node or OpenSSL),
// so a pre-started instance, already running when it learns the function's environment, could
// not honour them: a function that sets one (the locale: to another value than the default)
// always gets a fresh instance.
bool readAtProcessStart(std::string_view key, std::string_view value) {
  static constexpr std::string_view kExact[] = {
      "GLIBC_TUNABLES",
      "LANGUAGE",
      "NODE_DEBUG",
      "NODE_DEBUG_NATIVE",
      "NODE_DISABLE_COLORS",
      "NODE_EXTRA_CA_CERTS",
      "NODE_ICU_DATA",
      "NODE_NO_WARNINGS",
      "NODE_OPTIONS",
      "NODE_PENDING_DEPRECATION",
      "NODE_PRESERVE_SYMLINKS",
      "NODE_PRESERVE_SYMLINKS_MAIN",
      "NODE_REDIRECT_WARNINGS",
      "NODE_SKIP_PLATFORM_CHECK",
      "NODE_V8_COVERAGE",
      "OPENSSL_CONF",
      "OPENSSL_ENGINES",
      "OPENSSL_MODULES",
      "SSL_CERT_DIR",
      "SSL_CERT_FILE",
      "UV_THREADPOOL_SIZE",
      "UV_USE_IO_URING",
  };
  static constexpr std::string_view kPrefixes[] = {"LC_", "LD_", "MALLOC_"};
  if (key == "LANG") return value != kDefaultLang;
  for (std::string_view exact : kExact)
    if (key == exact) return true;
  for (std::string_view prefix : kPrefixes)
    if (key.starts_with(prefix)) return true;
  return false;
}

// Defaults that a function's own variables may override (as on Lambda).
std::map<std::string, std::string> overridableDefaults() {
  return {
      {"LANG", std::string(kDefaultLang)},
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

std::map<std::string, std::string> sdkCredentials() {
  std::string key_id = "ASIA" + randomHex(8);
  std::transform(key_id.begin(), key_id.end(), key_id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return {
      {"AWS_ACCESS_KEY_ID", key_id},
      {"AWS_SECRET_ACCESS_KEY", randomHex(20)},
      {"AWS_SESSION_TOKEN", randomHex(64)},
  };
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
    cmd.argv = nodeCommand(layout, fn.memory_mb);
    runtime_env["NODE_PATH"] = nodePath(layout);
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
  // Lambda's execution role credentials. Gust has no roles: these are random, fresh for every
  // instance, and serve only so that AWS SDKs sign their calls to Lambda's API inside the
  // sandbox (AWS_ENDPOINT_URL_LAMBDA, set by the sandbox), which knows its caller by the
  // listener a request arrives on and checks no signature.
  for (auto& [key, value] : sdkCredentials()) reserved[key] = std::move(value);
  // Lambda sets no execution environment name for custom runtimes.
  if (fn.runtime != "provided") reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.runtime;
  for (auto& [key, value] : runtime_env) reserved[key] = std::move(value);
  for (auto& [key, value] : reserved) env[key] = std::move(value);

  cmd.env.reserve(env.size());
  for (const auto& [key, value] : env) cmd.env.push_back(key + "=" + value);
  return cmd;
}

bool supportsDeferredInit(std::string_view runtime) {
  return runtime == "python3.11" || runtime == "nodejs20.x";
}

std::string genericPoolKey(std::string_view runtime, int memory_mb,
                           const std::map<std::string, std::string>& environment) {
  if (!supportsDeferredInit(runtime)) return {};
  for (const auto& [key, value] : environment)
    if (readAtProcessStart(key, value)) return {};
  if (runtime == "nodejs20.x") return fmt::format("{}/{}", runtime, memory_mb);
  return std::string(runtime);
}

std::vector<std::string> defaultGenericPoolKeys() {
  return {genericPoolKey("python3.11", kDefaultMemoryMb, {}),
          genericPoolKey("nodejs20.x", kDefaultMemoryMb, {})};
}

Result<LaunchCommand> launchGenericCommand(std::string_view pool_key,
                                           const sandbox::Layout& layout) {
  auto invalid = [&] {
    return Error::invalid(
        fmt::format("'{}' names no runtime that can start instances before their function is "
                    "known",
                    pool_key));
  };
  LaunchCommand cmd;
  std::map<std::string, std::string> env = overridableDefaults();
  if (pool_key == "python3.11") {
    cmd.argv = pythonCommand(layout.runtime_dir / "python" / "bootstrap.py");
  } else if (pool_key.starts_with("nodejs20.x/")) {
    std::string_view size = pool_key.substr(pool_key.find('/') + 1);
    int memory_mb = 0;
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), memory_mb);
    if (ec != std::errc() || end != size.data() + size.size() || memory_mb <= 0) return invalid();
    cmd.argv = nodeCommand(layout, memory_mb);
    // The same for every function (launchCommand's wins over the function's), and read by
    // Node's module loader when it starts.
    env["NODE_PATH"] = nodePath(layout);
  } else {
    return invalid();
  }
  cmd.argv.push_back("--deferred-init");
  env["TZ"] = ":UTC";
  env["LAMBDA_TASK_ROOT"] = layout.task_root.string();
  env["LAMBDA_RUNTIME_DIR"] = layout.runtime_dir.string();
  for (const auto& [key, value] : env) cmd.env.push_back(key + "=" + value);
  return cmd;
}

}  // namespace gust::runtime
