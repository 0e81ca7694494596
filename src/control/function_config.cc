// Validation and parsing of function configuration. Both parsers take untrusted input (a user's
// manifest, an HTTP body) and must never throw: yaml-cpp and Boost.JSON exceptions are caught
// here and turned into errors that name the field and say what is allowed.
#include "control/function_config.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

#include "common/crypto.h"

namespace gust::control {
namespace {

// Must match runtime::supportedRuntimes(). The control plane validates without depending on the
// runtime component, so the list is repeated here: add a runtime to both places.
constexpr std::array<std::string_view, 4> kSupportedRuntimes = {"python3.11", "nodejs20.x",
                                                                "provided", "exec"};

// Set by the platform for every invocation; a function may not override them.
constexpr std::array<std::string_view, 18> kReservedEnvironment = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_LAMBDA",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "TZ",
};

constexpr size_t kMaxDescriptionChars = 256;
constexpr size_t kMaxHandlerLength = 128;  // Lambda's limit
// A manifest is a few lines; anything this large is not one, and parsing it would only waste
// memory.
constexpr size_t kMaxManifestBytes = 1 << 20;

constexpr std::array<std::string_view, 13> kManifestKeys = {"name",
                                                            "runtime",
                                                            "handler",
                                                            "memory",
                                                            "timeout",
                                                            "environment",
                                                            "description",
                                                            "reserved_concurrency",
                                                            "provisioned_concurrency",
                                                            "ephemeral_storage",
                                                            "network",
                                                            "invokes",
                                                            "schedules"};
constexpr std::array<std::string_view, 14> kDeployRequestKeys = {"name",
                                                                 "runtime",
                                                                 "handler",
                                                                 "memory",
                                                                 "timeout",
                                                                 "environment",
                                                                 "description",
                                                                 "reserved_concurrency",
                                                                 "provisioned_concurrency",
                                                                 "ephemeral_storage",
                                                                 "network",
                                                                 "invokes",
                                                                 "schedules",
                                                                 "code_zip_base64"};
constexpr std::array<std::string_view, 2> kNetworkModes = {"none", "egress"};
constexpr std::array<std::string_view, 6> kScheduleKeys = {"name",  "expression",  "qualifier",
                                                           "input", "description", "enabled"};
// More schedules than this for one function is a mistake, not a plan.
constexpr size_t kMaxManifestSchedules = 100;

template <size_t N>
std::string joined(const std::array<std::string_view, N>& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

bool isAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isPythonIdentifier(std::string_view s) {
  if (s.empty() || !(isAlpha(s[0]) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlpha(c) || isDigit(c) || c == '_'; });
}

// UTF-8 characters, counting every byte that does not continue a sequence.
size_t utf8Length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

Status validateName(std::string_view name) {
  constexpr std::string_view kAllowed = "1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'";
  if (name.empty()) return Error::invalid(fmt::format("name: is empty; allowed: {}", kAllowed));
  if (name.size() > kMaxNameLength)
    return Error::invalid(fmt::format("name: {} is {} characters long; allowed: {}", quoted(name),
                                      name.size(), kAllowed));
  for (char c : name) {
    if (!(isAlpha(c) || isDigit(c) || c == '_' || c == '-'))
      return Error::invalid(fmt::format("name: {} contains {}; allowed: {}", quoted(name),
                                        quoted(std::string_view(&c, 1)), kAllowed));
  }
  return okStatus();
}

Status validateRuntime(std::string_view runtime) {
  if (std::find(kSupportedRuntimes.begin(), kSupportedRuntimes.end(), runtime) !=
      kSupportedRuntimes.end())
    return okStatus();
  return Error::invalid(fmt::format("runtime: {} is not supported; allowed: {}", quoted(runtime),
                                    joined(kSupportedRuntimes)));
}

// Python handlers name a function in a module: "app.handler", "src/app.handler" or
// "pkg.app.handler" (Lambda accepts both separators in the module path).
Status validatePythonHandler(std::string_view handler) {
  constexpr std::string_view kAllowed =
      "module.function, e.g. \"app.handler\" or \"src/app.handler\", where every part is a Python "
      "identifier";
  auto bad = [&](std::string_view why) {
    return Error::invalid(
        fmt::format("handler: {} {}; allowed: {}", quoted(handler), why, kAllowed));
  };
  size_t dot = handler.rfind('.');
  if (dot == std::string_view::npos) return bad("has no '.' between module and function");
  std::string_view function = handler.substr(dot + 1);
  std::string_view module = handler.substr(0, dot);
  if (!isPythonIdentifier(function)) return bad("does not end in a function name");
  size_t start = 0;
  for (;;) {
    size_t end = module.find_first_of("/.", start);
    std::string_view part = module.substr(start, end == std::string_view::npos ? end : end - start);
    if (!isPythonIdentifier(part))
      return bad(fmt::format("has the module path part {}, which is not a Python identifier",
                             quoted(part)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return okStatus();
}

bool hasWhitespaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

// Node handlers name an exported function of a file under the code dir: "index.handler",
// "src/app.handler", or a nested export "index.api.handler" (the file part has no extension).
Status validateNodeHandler(std::string_view handler) {
  constexpr std::string_view kAllowed =
      "file.function, e.g. \"index.handler\" or \"src/app.handler\" (the file without its "
      ".js/.mjs/.cjs extension)";
  auto bad = [&](std::string_view why) {
    return Error::invalid(
        fmt::format("handler: {} {}; allowed: {}", quoted(handler), why, kAllowed));
  };
  if (hasWhitespaceOrControl(handler)) return bad("contains whitespace");
  if (handler.find("..") != std::string_view::npos) return bad("contains '..'");
  if (handler.starts_with("/")) return bad("is an absolute path");
  std::string_view base = handler.substr(handler.rfind('/') + 1);
  size_t dot = base.find('.');
  if (dot == std::string_view::npos) return bad("has no '.' between file and function");
  if (dot == 0) return bad("has no file name");
  std::string_view function = base.substr(dot + 1);
  if (function.empty() || function.back() == '.') return bad("does not end in a function name");
  return okStatus();
}

// exec handlers are the path of an executable inside the code dir.
Status validateExecHandler(std::string_view handler) {
  constexpr std::string_view kAllowed =
      "the path of an executable relative to the code directory, e.g. \"handler.sh\" or "
      "\"bin/fn\"";
  auto bad = [&](std::string_view why) {
    return Error::invalid(
        fmt::format("handler: {} {}; allowed: {}", quoted(handler), why, kAllowed));
  };
  if (hasWhitespaceOrControl(handler)) return bad("contains whitespace");
  if (handler.starts_with("/")) return bad("is an absolute path");
  if (handler.ends_with("/")) return bad("names a directory");
  size_t start = 0;
  for (;;) {
    size_t end = handler.find('/', start);
    std::string_view part =
        handler.substr(start, end == std::string_view::npos ? end : end - start);
    if (part.empty() || part == "." || part == "..")
      return bad(fmt::format("has the path part {}", quoted(part)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return okStatus();
}

Status validateHandler(std::string_view runtime, std::string_view handler) {
  if (handler.empty()) return Error::invalid("handler: is empty; set it to module.function");
  if (handler.size() > kMaxHandlerLength)
    return Error::invalid(fmt::format("handler: {} is {} characters long; allowed: at most {}",
                                      quoted(handler), handler.size(), kMaxHandlerLength));
  if (runtime.starts_with("python")) return validatePythonHandler(handler);
  if (runtime.starts_with("nodejs")) return validateNodeHandler(handler);
  if (runtime == "exec") return validateExecHandler(handler);
  // provided: the custom runtime interprets _HANDLER itself.
  return okStatus();
}

Error memoryRangeError(std::string_view given) {
  return Error::invalid(fmt::format("memory: {} is out of range; allowed: {} to {} (MB)", given,
                                    kMinMemoryMb, kMaxMemoryMb));
}

Error timeoutRangeError(std::string_view given) {
  return Error::invalid(fmt::format("timeout: {} is out of range; allowed: {} to {} (seconds)",
                                    given, kMinTimeoutS, kMaxTimeoutS));
}

Error reservedRangeError(std::string_view given) {
  return Error::invalid(fmt::format(
      "reserved_concurrency: {} is out of range; allowed: 0 (throttle every invocation) to {} "
      "(the account's concurrency limit), or leave it out for no reservation",
      given, kAccountConcurrencyLimit));
}

Error provisionedRangeError(std::string_view given) {
  return Error::invalid(fmt::format(
      "provisioned_concurrency: {} is out of range; allowed: 0 to {} (at most the function's "
      "reserved_concurrency)",
      given, kAccountConcurrencyLimit));
}

Error ephemeralStorageRangeError(std::string_view given) {
  return Error::invalid(
      fmt::format("ephemeral_storage: {} is out of range; allowed: {} to {} (MB of /tmp)", given,
                  kMinEphemeralStorageMb, kMaxEphemeralStorageMb));
}

Status validateScaling(const FunctionConfig& c) {
  if (c.reserved_concurrency &&
      (*c.reserved_concurrency < 0 || *c.reserved_concurrency > kAccountConcurrencyLimit))
    return reservedRangeError(std::to_string(*c.reserved_concurrency));
  int max_provisioned = c.reserved_concurrency.value_or(kAccountConcurrencyLimit);
  if (c.provisioned_concurrency < 0 || c.provisioned_concurrency > kAccountConcurrencyLimit)
    return provisionedRangeError(std::to_string(c.provisioned_concurrency));
  if (c.provisioned_concurrency > max_provisioned)
    return Error::invalid(fmt::format(
        "provisioned_concurrency: {} is more than reserved_concurrency ({}); lower it or raise "
        "reserved_concurrency",
        c.provisioned_concurrency, max_provisioned));
  if (c.ephemeral_storage_mb < kMinEphemeralStorageMb ||
      c.ephemeral_storage_mb > kMaxEphemeralStorageMb)
    return ephemeralStorageRangeError(std::to_string(c.ephemeral_storage_mb));
  if (std::find(kNetworkModes.begin(), kNetworkModes.end(), c.network) == kNetworkModes.end())
    return Error::invalid(fmt::format("network: {} is not a network mode; allowed: {}",
                                      quoted(c.network), joined(kNetworkModes)));
  return okStatus();
}

bool isNameChar(char c) { return isAlpha(c) || isDigit(c) || c == '_' || c == '-'; }

// A qualifier as Invoke takes it: $LATEST, a version number, or an alias name (Lambda's alias
// pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+), at most 128 characters).
bool isQualifier(std::string_view q) {
  if (q == "$LATEST") return true;
  if (q.empty() || q.size() > 128 || !std::all_of(q.begin(), q.end(), isNameChar)) return false;
  bool all_digits = std::all_of(q.begin(), q.end(), isDigit);
  return !all_digits || (q[0] != '0' && q.size() <= 10);
}

Status validateEnvironment(const std::map<std::string, std::string>& env) {
  size_t total = 0;
  for (const auto& [key, value] : env) {
    if (std::find(kReservedEnvironment.begin(), kReservedEnvironment.end(), key) !=
        kReservedEnvironment.end())
      return Error::invalid(fmt::format(
          "environment: {} is reserved (set by the platform for every invocation); choose "
          "another name",
          quoted(key)));
    bool well_formed = !key.empty() && isAlpha(key[0]) &&
                       std::all_of(key.begin(), key.end(),
                                   [](char c) { return isAlpha(c) || isDigit(c) || c == '_'; });
    if (!well_formed)
      return Error::invalid(fmt::format(
          "environment: variable name {} is not allowed; allowed: a letter followed by letters, "
          "digits and '_'",
          quoted(key)));
    total += key.size() + value.size();
  }
  if (total > kMaxEnvironmentBytes)
    return Error::invalid(fmt::format(
        "environment: variables take {} bytes (names plus values); allowed: at most {} bytes",
        total, kMaxEnvironmentBytes));
  return okStatus();
}

}  // namespace

std::string quoted(std::string_view value) {
  constexpr size_t kMaxShown = 64;
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (value.size() > kMaxShown) out += fmt::format(" (truncated, {} bytes)", value.size());
  return out;
}

Status validateConfig(const FunctionConfig& config) {
  GUST_TRY(validateName(config.name));
  GUST_TRY(validateRuntime(config.runtime));
  GUST_TRY(validateHandler(config.runtime, config.handler));
  if (config.memory_mb < kMinMemoryMb || config.memory_mb > kMaxMemoryMb)
    return memoryRangeError(std::to_string(config.memory_mb));
  if (config.timeout_s < kMinTimeoutS || config.timeout_s > kMaxTimeoutS)
    return timeoutRangeError(std::to_string(config.timeout_s));
  GUST_TRY(validateEnvironment(config.environment));
  GUST_TRY(validateDescription(config.description));
  GUST_TRY(validateScaling(config));
  GUST_TRY(validateInvokes(config.invokes));
  return okStatus();
}

Status validateInvokes(const std::vector<std::string>& invokes) {
  if (invokes.size() > kMaxInvokesEntries)
    return Error::invalid(fmt::format("invokes: lists {} functions; allowed: at most {}",
                                      invokes.size(), kMaxInvokesEntries));
  std::set<std::string_view> seen;
  for (const std::string& entry : invokes) {
    std::string_view name = entry;
    std::string_view qualifier;
    if (size_t colon = name.find(':'); colon != std::string_view::npos) {
      qualifier = name.substr(colon + 1);
      name = name.substr(0, colon);
      if (!isQualifier(qualifier))
        return Error::invalid(fmt::format(
            "invokes: {} has the qualifier {}; allowed: $LATEST, a version number or an alias "
            "name (letters, digits, '-' and '_', not only digits), or no qualifier to allow "
            "every one",
            quoted(entry), quoted(qualifier)));
    }
    if (Status st = validateName(name); !st.ok())
      return Error::invalid(fmt::format(
          "invokes: {} does not name a function ({}); write \"callee\" or \"callee:qualifier\"",
          quoted(entry), st.error().message));
    if (!seen.insert(entry).second)
      return Error::invalid(fmt::format("invokes: {} is listed twice; keep one", quoted(entry)));
  }
  return okStatus();
}

bool invokeAllowed(const std::vector<std::string>& invokes, std::string_view callee,
                   std::string_view qualifier) {
  for (std::string_view entry : invokes) {
    if (!entry.starts_with(callee)) continue;
    std::string_view rest = entry.substr(callee.size());
    if (rest.empty()) return true;  // the bare name: every qualifier
    if (rest[0] != ':') continue;
    std::string_view allowed = rest.substr(1);
    if (allowed == qualifier || (allowed == "$LATEST" && qualifier.empty())) return true;
  }
  return false;
}

Status validateDescription(std::string_view description) {
  if (size_t n = utf8Length(description); n > kMaxDescriptionChars)
    return Error::invalid(fmt::format("description: is {} characters long; allowed: at most {}", n,
                                      kMaxDescriptionChars));
  return okStatus();
}

// ---------------------------------------------------------------------------------------------
// gust.yaml

namespace {

std::string yamlTypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

Result<std::string> yamlString(const YAML::Node& node, std::string_view field) {
  if (!node.IsScalar())
    return Error::invalid(fmt::format("{}: expected a string, got {}", field, yamlTypeName(node)));
  return node.Scalar();
}

// Integers in decimal only: "0x80" or "128.0" for memory is almost certainly a mistake.
Result<int> yamlInt(const YAML::Node& node, std::string_view field, std::string_view unit,
                    Error (*range_error)(std::string_view)) {
  if (!node.IsScalar())
    return Error::invalid(
        fmt::format("{}: expected an integer ({}), got {}", field, unit, yamlTypeName(node)));
  const std::string& s = node.Scalar();
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && end == s.data() + s.size())
    return range_error(quoted(s));
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return Error::invalid(
        fmt::format("{}: expected an integer ({}), got {}", field, unit, quoted(s)));
  if (v < INT32_MIN || v > INT32_MAX) return range_error(s);
  return static_cast<int>(v);
}

// `schedules:` — a list of maps with an expression and optionally a name, qualifier, input
// (JSON text), description and enabled.
Result<std::vector<ManifestSchedule>> yamlSchedules(const YAML::Node& node) {
  std::vector<ManifestSchedule> out;
  if (node.IsNull()) return out;
  constexpr std::string_view kExample =
      "e.g.\n  schedules:\n    - expression: rate(5 minutes)\n    - name: nightly\n      "
      "expression: cron(0 2 * * ? *)";
  if (!node.IsSequence())
    return Error::invalid(
        fmt::format("schedules: expected a list, got {}; {}", yamlTypeName(node), kExample));
  if (node.size() > kMaxManifestSchedules)
    return Error::invalid(fmt::format("schedules: lists {}; at most {} are allowed", node.size(),
                                      kMaxManifestSchedules));
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& item = node[i];
    std::string where = fmt::format("schedules[{}]", i);
    if (!item.IsMap())
      return Error::invalid(fmt::format("{}: expected a map with an expression, got {}; {}", where,
                                        yamlTypeName(item), kExample));
    ManifestSchedule schedule;
    bool has_expression = false;
    for (const auto& entry : item) {
      if (!entry.first.IsScalar())
        return Error::invalid(fmt::format("{}: keys must be strings", where));
      const std::string& key = entry.first.Scalar();
      std::string field = fmt::format("{}.{}", where, key.substr(0, 32));
      if (key == "name") {
        GUST_ASSIGN_OR_RETURN(schedule.name, yamlString(entry.second, field));
      } else if (key == "expression") {
        GUST_ASSIGN_OR_RETURN(schedule.expression, yamlString(entry.second, field));
        has_expression = true;
      } else if (key == "qualifier") {
        GUST_ASSIGN_OR_RETURN(schedule.qualifier, yamlString(entry.second, field));
      } else if (key == "description") {
        GUST_ASSIGN_OR_RETURN(schedule.description, yamlString(entry.second, field));
      } else if (key == "input") {
        if (!entry.second.IsScalar())
          return Error::invalid(fmt::format(
              "{}: expected JSON text in a string, e.g. input: '{{\"kind\": \"nightly\"}}'",
              field));
        schedule.input = entry.second.Scalar();
      } else if (key == "enabled") {
        GUST_ASSIGN_OR_RETURN(std::string flag, yamlString(entry.second, field));
        if (flag != "true" && flag != "false")
          return Error::invalid(
              fmt::format("{}: expected true or false, got {}", field, quoted(flag)));
        schedule.enabled = flag == "true";
      } else {
        return Error::invalid(fmt::format("{}: unknown key {}; allowed keys: {}", where,
                                          quoted(key), joined(kScheduleKeys)));
      }
    }
    if (!has_expression)
      return Error::invalid(fmt::format(
          "{}.expression: is missing; give a schedule expression such as rate(5 minutes) or "
          "cron(0 12 * * ? *)",
          where));
    out.push_back(std::move(schedule));
  }
  return out;
}

// Gives unnamed schedules their default names and refuses a name given twice.
Status nameSchedules(std::string_view function, std::vector<ManifestSchedule>& schedules) {
  std::set<std::string> names;
  for (size_t i = 0; i < schedules.size(); ++i) {
    if (schedules[i].name.empty())
      schedules[i].name = fmt::format("{}-schedule-{}", function, i + 1);
    if (!names.insert(schedules[i].name).second)
      return Error::invalid(fmt::format("schedules: the name {} is used twice; names must differ",
                                        quoted(schedules[i].name)));
  }
  return okStatus();
}

Result<FunctionConfig> parseManifestNode(const YAML::Node& root) {
  if (root.IsNull())
    return Error::invalid("is empty; a manifest needs at least name, runtime and handler");
  if (!root.IsMap())
    return Error::invalid(fmt::format(
        "expected a map of settings (name: ..., runtime: ...), got {}", yamlTypeName(root)));
  FunctionConfig config;
  std::set<std::string> seen;
  for (const auto& item : root) {
    if (!item.first.IsScalar())
      return Error::invalid(fmt::format("keys must be strings, got {}", yamlTypeName(item.first)));
    const std::string& key = item.first.Scalar();
    const YAML::Node& value = item.second;
    if (!seen.insert(key).second)
      return Error::invalid(fmt::format("{}: is set twice; keep one", quoted(key)));
    if (key == "name") {
      GUST_ASSIGN_OR_RETURN(config.name, yamlString(value, "name"));
    } else if (key == "runtime") {
      GUST_ASSIGN_OR_RETURN(config.runtime, yamlString(value, "runtime"));
    } else if (key == "handler") {
      GUST_ASSIGN_OR_RETURN(config.handler, yamlString(value, "handler"));
    } else if (key == "description") {
      GUST_ASSIGN_OR_RETURN(config.description, yamlString(value, "description"));
    } else if (key == "memory") {
      GUST_ASSIGN_OR_RETURN(config.memory_mb, yamlInt(value, "memory", "MB", memoryRangeError));
    } else if (key == "timeout") {
      GUST_ASSIGN_OR_RETURN(config.timeout_s,
                            yamlInt(value, "timeout", "seconds", timeoutRangeError));
    } else if (key == "reserved_concurrency") {
      if (value.IsNull()) continue;  // no reservation, as when the key is absent
      GUST_ASSIGN_OR_RETURN(
          config.reserved_concurrency,
          yamlInt(value, "reserved_concurrency", "invocations at once", reservedRangeError));
    } else if (key == "provisioned_concurrency") {
      GUST_ASSIGN_OR_RETURN(
          config.provisioned_concurrency,
          yamlInt(value, "provisioned_concurrency", "instances", provisionedRangeError));
    } else if (key == "ephemeral_storage") {
      GUST_ASSIGN_OR_RETURN(config.ephemeral_storage_mb,
                            yamlInt(value, "ephemeral_storage", "MB", ephemeralStorageRangeError));
    } else if (key == "network") {
      GUST_ASSIGN_OR_RETURN(config.network, yamlString(value, "network"));
    } else if (key == "invokes") {
      if (value.IsNull()) continue;  // "invokes:" with nothing under it: none
      if (!value.IsSequence())
        return Error::invalid(fmt::format(
            "invokes: expected a list of function names, e.g. [callee, other:live], got {}",
            yamlTypeName(value)));
      for (const auto& entry : value) {
        GUST_ASSIGN_OR_RETURN(std::string callee, yamlString(entry, "invokes[]"));
        config.invokes.push_back(std::move(callee));
      }
    } else if (key == "environment") {
      if (value.IsNull()) continue;  // "environment:" with nothing under it: no variables
      if (!value.IsMap())
        return Error::invalid(
            fmt::format("environment: expected a map of NAME: value, got {}", yamlTypeName(value)));
      for (const auto& var : value) {
        if (!var.first.IsScalar())
          return Error::invalid(fmt::format("environment: variable names must be strings, got {}",
                                            yamlTypeName(var.first)));
        const std::string& name = var.first.Scalar();
        if (!var.second.IsScalar())
          return Error::invalid(fmt::format(
              "environment.{}: expected a string, number or boolean, got {}; quote the value "
              "(write \"\" for an empty one)",
              name.substr(0, 64), yamlTypeName(var.second)));
        if (!config.environment.emplace(name, var.second.Scalar()).second)
          return Error::invalid(
              fmt::format("environment: {} is set twice; keep one", quoted(name)));
      }
    } else if (key == "schedules") {
      GUST_ASSIGN_OR_RETURN(config.schedules, yamlSchedules(value));
    } else {
      return Error::invalid(
          fmt::format("unknown key {}; allowed keys: {}", quoted(key), joined(kManifestKeys)));
    }
  }
  for (std::string_view required : {"name", "runtime", "handler"}) {
    if (!seen.contains(std::string(required)))
      return Error::invalid(fmt::format("{}: is missing; it is required", required));
  }
  if (!config.schedules) config.schedules.emplace();  // none listed: the function has none
  GUST_TRY(validateConfig(config));
  GUST_TRY(nameSchedules(config.name, *config.schedules));
  return config;
}

}  // namespace

Result<FunctionConfig> parseManifest(std::string_view yaml_text, std::string_view source) {
  auto prefixed = [&](Error e) {
    e.message = fmt::format("{}: {}", source, e.message);
    return e;
  };
  if (yaml_text.size() > kMaxManifestBytes)
    return prefixed(Error::invalid(fmt::format("is {} bytes; a manifest may be at most {} bytes",
                                               yaml_text.size(), kMaxManifestBytes)));
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    Result<FunctionConfig> config = parseManifestNode(root);
    if (!config.ok()) return prefixed(std::move(config).error());
    return config;
  } catch (const YAML::Exception& e) {
    // yaml-cpp counts lines and columns from 0; editors count from 1.
    if (e.mark.is_null()) return prefixed(Error::invalid(fmt::format("invalid YAML: {}", e.msg)));
    return Error::invalid(fmt::format("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1,
                                      e.mark.column + 1, e.msg));
  } catch (const std::exception& e) {
    return prefixed(Error::invalid(fmt::format("cannot parse manifest: {}", e.what())));
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

namespace {

namespace json = boost::json;

std::string_view jsonTypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number with a fraction";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "an unknown value";
}

Result<json::value> parseJson(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec)
    return Error::invalid(
        fmt::format("{}: invalid JSON: {}; send a JSON object", what, ec.message()));
  if (!v.is_object())
    return Error::invalid(fmt::format("{}: expected a JSON object, got {}", what, jsonTypeName(v)));
  return v;
}

Result<std::string> jsonString(const json::value& v, std::string_view field) {
  if (!v.is_string())
    return Error::invalid(fmt::format("{}: expected a string, got {}", field, jsonTypeName(v)));
  return std::string(v.get_string());
}

Result<int64_t> jsonInt64(const json::value& v, std::string_view field) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<uint64_t>(INT64_MAX))
      return Error::invalid(fmt::format("{}: {} is too large", field, v.get_uint64()));
    return static_cast<int64_t>(v.get_uint64());
  }
  return Error::invalid(fmt::format("{}: expected an integer, got {}", field, jsonTypeName(v)));
}

Result<int> jsonInt(const json::value& v, std::string_view field,
                    Error (*range_error)(std::string_view)) {
  GUST_ASSIGN_OR_RETURN(int64_t n, jsonInt64(v, field));
  if (n < INT32_MIN || n > INT32_MAX) return range_error(std::to_string(n));
  return static_cast<int>(n);
}

Result<std::map<std::string, std::string>> jsonEnvironment(const json::value& v) {
  if (v.is_null()) return std::map<std::string, std::string>{};
  if (!v.is_object())
    return Error::invalid(
        fmt::format("environment: expected an object of NAME: \"value\", got {}", jsonTypeName(v)));
  std::map<std::string, std::string> env;
  for (const auto& [k, val] : v.get_object()) {
    if (!val.is_string())
      return Error::invalid(fmt::format("environment.{}: expected a string, got {}",
                                        std::string_view(k).substr(0, 64), jsonTypeName(val)));
    env[std::string(k)] = std::string(val.get_string());
  }
  return env;
}

Result<std::vector<std::string>> jsonInvokes(const json::value& v) {
  if (v.is_null()) return std::vector<std::string>{};
  if (!v.is_array())
    return Error::invalid(
        fmt::format("invokes: expected an array of function names, e.g. [\"callee\"], got {}",
                    jsonTypeName(v)));
  std::vector<std::string> invokes;
  for (const auto& entry : v.get_array()) {
    GUST_ASSIGN_OR_RETURN(std::string callee, jsonString(entry, "invokes[]"));
    invokes.push_back(std::move(callee));
  }
  return invokes;
}

json::array invokesToJson(const std::vector<std::string>& invokes) {
  json::array a;
  for (const auto& entry : invokes) a.emplace_back(entry);
  return a;
}

void scalingToJson(json::object& o, const std::optional<int>& reserved, int provisioned,
                   int ephemeral_storage_mb, const std::string& network) {
  if (reserved)
    o["reserved_concurrency"] = *reserved;
  else
    o["reserved_concurrency"] = nullptr;
  o["provisioned_concurrency"] = provisioned;
  o["ephemeral_storage"] = ephemeral_storage_mb;
  o["network"] = network;
}

json::array schedulesToJson(const std::vector<ManifestSchedule>& schedules) {
  json::array arr;
  for (const auto& s : schedules) {
    json::object o{{"name", s.name},
                   {"expression", s.expression},
                   {"qualifier", s.qualifier},
                   {"description", s.description},
                   {"enabled", s.enabled}};
    if (s.input)
      o["input"] = *s.input;
    else
      o["input"] = nullptr;
    arr.push_back(std::move(o));
  }
  return arr;
}

Result<std::vector<ManifestSchedule>> jsonSchedules(const json::value& v) {
  if (!v.is_array())
    return Error::invalid(fmt::format("schedules: expected an array, got {}", jsonTypeName(v)));
  if (v.get_array().size() > kMaxManifestSchedules)
    return Error::invalid(fmt::format("schedules: at most {} are allowed", kMaxManifestSchedules));
  std::vector<ManifestSchedule> out;
  for (const auto& item : v.get_array()) {
    if (!item.is_object())
      return Error::invalid(fmt::format("schedules: expected objects, got {}", jsonTypeName(item)));
    ManifestSchedule s;
    for (const auto& [key, val] : item.get_object()) {
      if (key == "name") {
        GUST_ASSIGN_OR_RETURN(s.name, jsonString(val, "schedules.name"));
      } else if (key == "expression") {
        GUST_ASSIGN_OR_RETURN(s.expression, jsonString(val, "schedules.expression"));
      } else if (key == "qualifier") {
        GUST_ASSIGN_OR_RETURN(s.qualifier, jsonString(val, "schedules.qualifier"));
      } else if (key == "description") {
        GUST_ASSIGN_OR_RETURN(s.description, jsonString(val, "schedules.description"));
      } else if (key == "input") {
        if (!val.is_null()) {
          GUST_ASSIGN_OR_RETURN(s.input, jsonString(val, "schedules.input"));
        }
      } else if (key == "enabled") {
        if (!val.is_bool()) return Error::invalid("schedules.enabled: expected true or false");
        s.enabled = val.get_bool();
      } else {
        return Error::invalid(fmt::format("schedules: unknown key {}; allowed keys: {}",
                                          quoted(std::string_view(key)), joined(kScheduleKeys)));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

json::object configToJson(const FunctionConfig& c) {
  json::object env;
  for (const auto& [k, v] : c.environment) env[k] = v;
  json::object o;
  o["name"] = c.name;
  o["runtime"] = c.runtime;
  o["handler"] = c.handler;
  o["memory"] = c.memory_mb;
  o["timeout"] = c.timeout_s;
  o["environment"] = std::move(env);
  o["description"] = c.description;
  scalingToJson(o, c.reserved_concurrency, c.provisioned_concurrency, c.ephemeral_storage_mb,
                c.network);
  o["invokes"] = invokesToJson(c.invokes);
  if (c.schedules) o["schedules"] = schedulesToJson(*c.schedules);
  return o;
}

json::object recordToJson(const store::FunctionRecord& r) {
  json::object env;
  for (const auto& [k, v] : r.environment) env[k] = v;
  json::object o;
  o["name"] = r.name;
  o["runtime"] = r.runtime;
  o["handler"] = r.handler;
  o["memory"] = r.memory_mb;
  o["timeout"] = r.timeout_s;
  o["environment"] = std::move(env);
  o["description"] = r.description;
  o["code_sha256"] = r.code_sha256;
  o["code_size"] = r.code_size;
  o["last_modified"] = r.last_modified;
  o["revision"] = r.revision;
  scalingToJson(o, r.reserved_concurrency, r.provisioned_concurrency, r.ephemeral_storage_mb,
                r.network);
  o["invokes"] = invokesToJson(r.invokes);
  return o;
}

Result<DeployRequest> parseDeployRequestObject(const json::object& obj) {
  DeployRequest req;
  FunctionConfig& c = req.config;
  bool has_zip = false;
  for (const auto& [key, value] : obj) {
    if (key == "name") {
      GUST_ASSIGN_OR_RETURN(c.name, jsonString(value, "name"));
    } else if (key == "runtime") {
      GUST_ASSIGN_OR_RETURN(c.runtime, jsonString(value, "runtime"));
    } else if (key == "handler") {
      GUST_ASSIGN_OR_RETURN(c.handler, jsonString(value, "handler"));
    } else if (key == "description") {
      GUST_ASSIGN_OR_RETURN(c.description, jsonString(value, "description"));
    } else if (key == "memory") {
      GUST_ASSIGN_OR_RETURN(c.memory_mb, jsonInt(value, "memory", memoryRangeError));
    } else if (key == "timeout") {
      GUST_ASSIGN_OR_RETURN(c.timeout_s, jsonInt(value, "timeout", timeoutRangeError));
    } else if (key == "environment") {
      GUST_ASSIGN_OR_RETURN(c.environment, jsonEnvironment(value));
    } else if (key == "reserved_concurrency") {
      if (value.is_null()) {
        c.reserved_concurrency.reset();  // no reservation, as when the key is absent
      } else {
        GUST_ASSIGN_OR_RETURN(c.reserved_concurrency,
                              jsonInt(value, "reserved_concurrency", reservedRangeError));
      }
    } else if (key == "provisioned_concurrency") {
      GUST_ASSIGN_OR_RETURN(c.provisioned_concurrency,
                            jsonInt(value, "provisioned_concurrency", provisionedRangeError));
    } else if (key == "ephemeral_storage") {
      GUST_ASSIGN_OR_RETURN(c.ephemeral_storage_mb,
                            jsonInt(value, "ephemeral_storage", ephemeralStorageRangeError));
    } else if (key == "network") {
      GUST_ASSIGN_OR_RETURN(c.network, jsonString(value, "network"));
    } else if (key == "invokes") {
      GUST_ASSIGN_OR_RETURN(c.invokes, jsonInvokes(value));
    } else if (key == "schedules") {
      GUST_ASSIGN_OR_RETURN(c.schedules, jsonSchedules(value));
    } else if (key == "code_zip_base64") {
      GUST_ASSIGN_OR_RETURN(std::string encoded, jsonString(value, "code_zip_base64"));
      if (encoded.empty())
        return Error::invalid("code_zip_base64: is empty; send the function's code as a zip");
      if (!base64Decode(encoded, req.zip))
        return Error::invalid(
            "code_zip_base64: is not valid base64; encode the zip with standard base64 "
            "(RFC 4648, with '=' padding, no line breaks)");
      has_zip = true;
    } else {
      return Error::invalid(fmt::format("unknown key {}; allowed keys: {}",
                                        quoted(std::string_view(key)), joined(kDeployRequestKeys)));
    }
  }
  for (std::string_view required : {"name", "runtime", "handler"}) {
    if (!obj.contains(required))
      return Error::invalid(fmt::format("{}: is missing; it is required", required));
  }
  if (!has_zip)
    return Error::invalid("code_zip_base64: is missing; send the function's code as a zip");
  GUST_TRY(validateConfig(c));
  if (c.schedules) GUST_TRY(nameSchedules(c.name, *c.schedules));
  return req;
}

Result<store::FunctionRecord> recordFromJsonObject(const json::object& obj) {
  // Unknown keys are ignored: a newer server may add fields an older CLI does not know.
  store::FunctionRecord r;
  for (std::string_view required : {"name", "runtime", "handler"}) {
    if (!obj.contains(required))
      return Error::invalid(fmt::format("function: {} is missing", required));
  }
  auto str = [&](std::string_view key, std::string& out) -> Status {
    if (const json::value* v = obj.if_contains(key)) {
      GUST_ASSIGN_OR_RETURN(out, jsonString(*v, key));
    }
    return okStatus();
  };
  auto i64 = [&](std::string_view key, int64_t& out) -> Status {
    if (const json::value* v = obj.if_contains(key)) {
      GUST_ASSIGN_OR_RETURN(out, jsonInt64(*v, key));
    }
    return okStatus();
  };
  auto i32 = [&](std::string_view key, int& out) -> Status {
    int64_t n = out;
    GUST_TRY(i64(key, n));
    if (n < INT32_MIN || n > INT32_MAX)
      return Error::invalid(fmt::format("{}: {} is out of range", key, n));
    out = static_cast<int>(n);
    return okStatus();
  };
  GUST_TRY(str("name", r.name));
  GUST_TRY(str("runtime", r.runtime));
  GUST_TRY(str("handler", r.handler));
  GUST_TRY(i32("memory", r.memory_mb));
  GUST_TRY(i32("timeout", r.timeout_s));
  if (const json::value* v = obj.if_contains("environment")) {
    GUST_ASSIGN_OR_RETURN(r.environment, jsonEnvironment(*v));
  }
  GUST_TRY(str("description", r.description));
  GUST_TRY(str("code_sha256", r.code_sha256));
  GUST_TRY(i64("code_size", r.code_size));
  GUST_TRY(str("last_modified", r.last_modified));
  GUST_TRY(i64("revision", r.revision));
  if (const json::value* v = obj.if_contains("reserved_concurrency"); v && !v->is_null()) {
    int reserved = 0;
    GUST_TRY(i32("reserved_concurrency", reserved));
    r.reserved_concurrency = reserved;
  }
  GUST_TRY(i32("provisioned_concurrency", r.provisioned_concurrency));
  GUST_TRY(i32("ephemeral_storage", r.ephemeral_storage_mb));
  GUST_TRY(str("network", r.network));
  if (const json::value* v = obj.if_contains("invokes")) {
    GUST_ASSIGN_OR_RETURN(r.invokes, jsonInvokes(*v));
  }
  return r;
}

}  // namespace

Result<DeployRequest> parseDeployRequest(std::string_view json_text) {
  try {
    GUST_ASSIGN_OR_RETURN(json::value v, parseJson(json_text, "deploy request"));
    return parseDeployRequestObject(v.get_object());
  } catch (const std::exception& e) {
    // Boost.JSON reports syntax errors through the error_code; what remains is allocation
    // failure on absurd input.
    return Error::invalid(fmt::format("deploy request: cannot parse: {}", e.what()));
  }
}

std::string deployRequestToJson(const FunctionConfig& config, std::string_view zip) {
  json::object o = configToJson(config);
  o["code_zip_base64"] = base64Encode(zip);
  return json::serialize(o);
}

std::string functionToJson(const store::FunctionRecord& record) {
  return json::serialize(recordToJson(record));
}

std::string functionsToJson(const std::vector<store::FunctionRecord>& records) {
  json::array arr;
  arr.reserve(records.size());
  for (const auto& r : records) arr.emplace_back(recordToJson(r));
  json::object o;
  o["functions"] = std::move(arr);
  return json::serialize(o);
}

Result<store::FunctionRecord> functionFromJson(std::string_view json_text) {
  try {
    GUST_ASSIGN_OR_RETURN(json::value v, parseJson(json_text, "function"));
    return recordFromJsonObject(v.get_object());
  } catch (const std::exception& e) {
    return Error::invalid(fmt::format("function: cannot parse: {}", e.what()));
  }
}

}  // namespace gust::control
