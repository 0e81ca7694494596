// A function's user-facing configuration, its validation, and the parsers of the two places it
// comes from: gust.yaml manifests (CLI) and JSON bodies of the control API (server).
// Both parsers take untrusted input and have fuzz targets.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace gust::control {

inline constexpr int kMinMemoryMb = 128;
inline constexpr int kMaxMemoryMb = 10240;
inline constexpr int kMinTimeoutS = 1;
inline constexpr int kMaxTimeoutS = 900;
inline constexpr size_t kMaxEnvironmentBytes = 4096;  // Lambda: 4 KB for all variables
inline constexpr size_t kMaxNameLength = 64;
// The engine's default account-wide concurrency; a reservation cannot exceed it.
inline constexpr int kAccountConcurrencyLimit = 1000;
// Reservations of all functions together must leave this much of the account limit unreserved
// (Lambda's rule), for the functions that reserve nothing.
inline constexpr int kMinUnreservedConcurrency = 100;
inline constexpr int kMinEphemeralStorageMb = 512;
inline constexpr int kMaxEphemeralStorageMb = 10240;

// A schedule listed under `schedules:` in gust.yaml, deployed with the function (the server
// checks the expression and creates, updates or deletes the function's manifest schedules).
struct ManifestSchedule {
  std::string name;                  // default: <function>-schedule-<n>, n counting from 1
  std::string expression;            // rate(...) or cron(...)
  std::string qualifier;             // a version or alias of the function; empty: $LATEST
  std::optional<std::string> input;  // constant JSON text sent instead of the scheduled event
  std::string description;
  bool enabled = true;

  bool operator==(const ManifestSchedule&) const = default;
};

struct FunctionConfig {
  std::string name;
  std::string runtime;
  std::string handler;
  int memory_mb = 128;
  int timeout_s = 3;
  std::map<std::string, std::string> environment;
  std::string description;
  std::optional<int> reserved_concurrency;  // nullopt: unreserved; 0 throttles every invoke
  int provisioned_concurrency = 0;          // at most the reservation (or the account limit)
  int ephemeral_storage_mb = 512;           // size of /tmp
  std::string network = "none";             // "none" or "egress"
  std::string role;  // Lambda's execution role ARN (Lambda API only): kept and reported
  // The functions it may invoke through Lambda's API inside its sandbox (cascading invocations):
  // "name" allows every qualifier of that function, "name:qualifier" ($LATEST, a version number
  // or an alias) only that one. Empty: it may invoke none.
  std::vector<std::string> invokes;
  // gust.yaml's schedules (empty when it lists none). nullopt: the deploy request did not say,
  // and the function's schedules are left as they are.
  std::optional<std::vector<ManifestSchedule>> schedules;

  bool operator==(const FunctionConfig&) const = default;
};

// Checks every field; the error names the field, what was given and what is allowed.
Status validateConfig(const FunctionConfig& config);
inline constexpr size_t kMaxInvokesEntries = 100;
// The `invokes` list: at most kMaxInvokesEntries entries, each a function name (as validateConfig
// checks names) optionally followed by ":" and a qualifier ($LATEST, a version number, or an
// alias name), none twice. The error names the entry and what is allowed.
Status validateInvokes(const std::vector<std::string>& invokes);
// Whether `invokes` (a validated list) lets its function invoke `callee` with `qualifier` (empty
// for an unqualified invocation, which runs $LATEST): an entry with the bare name allows every
// qualifier; "name:q" allows only q ("name:$LATEST" also allows the unqualified call).
bool invokeAllowed(const std::vector<std::string>& invokes, std::string_view callee,
                   std::string_view qualifier);
// A description of a function, version or alias: at most 256 characters.
Status validateDescription(std::string_view description);
// `value` quoted for an error message: truncated, with control bytes escaped, so a hostile value
// cannot flood or forge log lines.
std::string quoted(std::string_view value);

// Parses a gust.yaml manifest (keys: name, runtime, handler, memory, timeout, environment,
// description, reserved_concurrency, provisioned_concurrency, ephemeral_storage, network,
// invokes, schedules) and validates it (a schedule's expression is checked by the server).
// Unknown keys are errors (they are usually typos). `source` names the file in error messages.
Result<FunctionConfig> parseManifest(std::string_view yaml_text, std::string_view source);

// The control API's deploy request: the configuration plus the code zip.
struct DeployRequest {
  FunctionConfig config;
  std::string zip;  // decoded bytes
};

// JSON body: {"name","runtime","handler","memory","timeout","environment","description",
// "reserved_concurrency","provisioned_concurrency","ephemeral_storage","network","invokes",
// "schedules","code_zip_base64"}; "schedules" is an array of {"name","expression","qualifier",
// "input","description","enabled"}. Validates the configuration. Unknown keys are errors.
Result<DeployRequest> parseDeployRequest(std::string_view json_text);
// The inverse, used by the CLI.
std::string deployRequestToJson(const FunctionConfig& config, std::string_view zip);

// A function as the control API shows it (configuration + code_sha256, code_size,
// last_modified, revision).
std::string functionToJson(const store::FunctionRecord& record);
std::string functionsToJson(const std::vector<store::FunctionRecord>& records);
// Parses functionToJson's output (CLI side).
Result<store::FunctionRecord> functionFromJson(std::string_view json_text);

}  // namespace gust::control
