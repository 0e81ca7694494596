// FunctionService: the order of a deploy is what makes it safe to retry and to crash in:
//   1. validate the configuration and the zip's size,
//   2. extract the zip into the code cache (a zip that fails to extract is rejected before
//      anything is stored),
//   3. store the blob (content-addressed, idempotent),
//   4. write the metadata, which is what makes the new code visible.
// A crash between steps leaves at most an unreferenced cache directory or blob, never a
// function whose code is missing.
#include "control/function_service.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "common/crypto.h"
#include "control/zip.h"

namespace gust::control {
namespace {

bool isSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool isDirectory(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

constexpr std::string_view kLatest = "$LATEST";
constexpr size_t kMaxAliasNameLength = 128;  // Lambda's limit
// An unconditional update retries this often when concurrent updates keep winning the race.
constexpr int kMaxUpdateAttempts = 8;

// A published version's number as qualifiers spell it: decimal digits, no leading zero.
bool isVersionNumber(std::string_view s) {
  return !s.empty() && s[0] != '0' &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

FunctionConfig configOf(const store::FunctionRecord& r) {
  FunctionConfig c;
  c.name = r.name;
  c.runtime = r.runtime;
  c.handler = r.handler;
  c.memory_mb = r.memory_mb;
  c.timeout_s = r.timeout_s;
  c.environment = r.environment;
  c.description = r.description;
  c.reserved_concurrency = r.reserved_concurrency;
  c.provisioned_concurrency = r.provisioned_concurrency;
  c.ephemeral_storage_mb = r.ephemeral_storage_mb;
  c.network = r.network;
  c.role = r.role;
  c.invokes = r.invokes;
  return c;
}

// Copies the user-facing configuration into `r`, leaving code and bookkeeping alone (and the
// role when the configuration has none: the gust CLI's deploys do not carry one).
void applyConfig(const FunctionConfig& c, store::FunctionRecord& r) {
  r.name = c.name;
  r.runtime = c.runtime;
  r.handler = c.handler;
  r.memory_mb = c.memory_mb;
  r.timeout_s = c.timeout_s;
  r.environment = c.environment;
  r.description = c.description;
  r.reserved_concurrency = c.reserved_concurrency;
  r.provisioned_concurrency = c.provisioned_concurrency;
  r.ephemeral_storage_mb = c.ephemeral_storage_mb;
  r.network = c.network;
  r.invokes = c.invokes;
  if (!c.role.empty()) r.role = c.role;
}

// Lambda's rules for an alias (control::quoted is qualified because argument-dependent lookup
// would also find std::quoted): the name matches (?!^[0-9]+$)([a-zA-Z0-9-_]+) in at most 128
// characters; the primary version is $LATEST or a number; a routing config has at most one
// additional version, a number other than the primary, with a weight in [0, 1], and a primary of
// $LATEST takes no routing config.
Status validateAlias(const store::AliasRecord& alias) {
  constexpr std::string_view kAllowedName =
      "1 to 128 characters of A-Z, a-z, 0-9, '-' and '_', not only digits";
  if (alias.name.empty())
    return Error::invalid(fmt::format("alias name: is empty; allowed: {}", kAllowedName));
  if (alias.name.size() > kMaxAliasNameLength)
    return Error::invalid(fmt::format("alias name: {} is {} characters long; allowed: {}",
                                      control::quoted(alias.name), alias.name.size(),
                                      kAllowedName));
  for (char c : alias.name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok)
      return Error::invalid(fmt::format("alias name: {} contains {}; allowed: {}",
                                        control::quoted(alias.name),
                                        control::quoted(std::string_view(&c, 1)), kAllowedName));
  }
  if (std::all_of(alias.name.begin(), alias.name.end(),
                  [](char c) { return c >= '0' && c <= '9'; }))
    return Error::invalid(fmt::format(
        "alias name: {} is only digits, which would read as a version number; allowed: {}",
        control::quoted(alias.name), kAllowedName));
  if (alias.function_version != kLatest && !isVersionNumber(alias.function_version))
    return Error::invalid(
        fmt::format("function version: {} is not a version; allowed: $LATEST or the number of a "
                    "published version",
                    control::quoted(alias.function_version)));
  GUST_TRY(validateDescription(alias.description));
  if (alias.additional_weights.empty()) return okStatus();
  if (alias.additional_weights.size() > 1)
    return Error::invalid(fmt::format(
        "routing config: {} additional versions; allowed: at most 1 (the alias's own version "
        "takes the rest of the traffic)",
        alias.additional_weights.size()));
  const auto& [version, weight] = *alias.additional_weights.begin();
  if (alias.function_version == kLatest)
    return Error::invalid(
        "routing config: the alias points to $LATEST; allowed: a routing config only on an alias "
        "of a published version — publish one and point the alias at it");
  if (!isVersionNumber(version))
    return Error::invalid(fmt::format(
        "routing config: {} cannot take weighted traffic; allowed: the number of a published "
        "version",
        control::quoted(version)));
  if (version == alias.function_version)
    return Error::invalid(fmt::format(
        "routing config: version {} is already the alias's own version; allowed: a different "
        "published version",
        version));
  if (!(weight >= 0.0 && weight <= 1.0))
    return Error::invalid(
        fmt::format("routing config: weight {} of version {} is out of range; allowed: 0.0 to 1.0",
                    weight, version));
  return okStatus();
}

}  // namespace

FunctionService::FunctionService(store::Store& store, const store::BlobStore& blobs,
                                 std::filesystem::path code_cache_root)
    : store_(store), blobs_(blobs), code_cache_root_(std::move(code_cache_root)) {}

Result<FunctionService::StoredCode> FunctionService::storeCode(std::string_view zip) {
  if (zip.size() > kMaxZipBytes)
    return Error::tooLarge(fmt::format(
        "code zip is {} bytes; allowed: at most {} MB zipped — remove files the function does "
        "not need",
        zip.size(), kMaxZipBytes >> 20));
  if (zip.empty()) return Error::invalid("code zip is empty; zip the function's code directory");

  std::string sha = sha256Hex(zip);
  GUST_TRY(ensureExtracted(sha, zip));
  GUST_ASSIGN_OR_RETURN(std::string stored_sha, blobs_.put(zip));
  GUST_CHECK(stored_sha == sha, "the blob store addresses blobs by the same SHA-256");
  return StoredCode{std::move(sha), static_cast<int64_t>(zip.size())};
}

Result<store::FunctionRecord> FunctionService::writeChecked(
    const store::FunctionRecord& record,
    const std::function<Result<store::FunctionRecord>()>& write) {
  std::unique_lock lock(reservation_mu_, std::defer_lock);
  if (record.reserved_concurrency) {
    lock.lock();
    GUST_ASSIGN_OR_RETURN(std::vector<store::FunctionRecord> all, store_.listFunctions());
    int others = 0;
    for (const store::FunctionRecord& f : all)
      if (f.name != record.name) others += f.reserved_concurrency.value_or(0);
    int wanted = *record.reserved_concurrency;
    int reservable = kAccountConcurrencyLimit - kMinUnreservedConcurrency;
    if (others + wanted > reservable)
      return Error::invalid(fmt::format(
          "reserved_concurrency: {} for function \"{}\" is more than the account has left; "
          "other functions reserve {} of the account's {} and at least {} must stay unreserved, "
          "so allowed: at most {} — lower it or release other functions' reservations",
          wanted, record.name, others, kAccountConcurrencyLimit, kMinUnreservedConcurrency,
          std::max(0, reservable - others)));
  }
  return write();
}

Result<DeployOutcome> FunctionService::deploy(const DeployRequest& request) {
  GUST_TRY(validateConfig(request.config));
  GUST_ASSIGN_OR_RETURN(StoredCode code, storeCode(request.zip));
  store::FunctionRecord record;
  applyConfig(request.config, record);
  record.code_sha256 = std::move(code.sha256);
  record.code_size = code.size;
  GUST_ASSIGN_OR_RETURN(store::FunctionRecord stored,
                        writeChecked(record, [&] { return store_.putFunction(record); }));
  // Revision 1 means this put created the row; asking the store beforehand would race with a
  // concurrent deploy of the same name.
  bool created = stored.revision == 1;
  return DeployOutcome{std::move(stored), created};
}

Result<store::FunctionRecord> FunctionService::create(const DeployRequest& request,
                                                      std::string_view role, bool publish) {
  GUST_TRY(validateConfig(request.config));
  GUST_ASSIGN_OR_RETURN(StoredCode code, storeCode(request.zip));
  store::FunctionRecord record;
  applyConfig(request.config, record);
  record.code_sha256 = std::move(code.sha256);
  record.code_size = code.size;
  record.role = std::string(role);
  GUST_ASSIGN_OR_RETURN(store::FunctionRecord stored,
                        writeChecked(record, [&] { return store_.createFunction(record); }));
  if (!publish) return stored;
  return store_.publishVersion(stored.name, "", stored.code_sha256, stored.revision_id);
}

Result<store::FunctionRecord> FunctionService::updateLatest(
    std::string_view name, std::string_view expected_revision_id,
    const std::function<Status(store::FunctionRecord&)>& modify) {
  for (int attempt = 1;; ++attempt) {
    GUST_ASSIGN_OR_RETURN(store::FunctionRecord record, store_.getFunction(name));
    // The write is conditional even when the caller's is not: on the revision read here, so a
    // concurrent update is never silently overwritten.
    std::string condition =
        expected_revision_id.empty() ? record.revision_id : std::string(expected_revision_id);
    GUST_TRY(modify(record));
    Result<store::FunctionRecord> stored =
        writeChecked(record, [&] { return store_.updateFunction(record, condition); });
    bool lost_race = !stored.ok() && stored.error().code == ErrorCode::kFailedPrecondition &&
                     expected_revision_id.empty();
    if (!lost_race || attempt == kMaxUpdateAttempts) return stored;
  }
}

Result<store::FunctionRecord> FunctionService::updateConfiguration(
    std::string_view name, const std::function<Status(FunctionConfig&)>& change,
    std::string_view expected_revision_id) {
  return updateLatest(name, expected_revision_id, [&](store::FunctionRecord& record) -> Status {
    FunctionConfig config = configOf(record);
    GUST_TRY(change(config));
    if (config.name != record.name)
      return Error::invalid(fmt::format(
          "name: {} cannot be changed to {}; allowed: the function's own name — create a new "
          "function instead",
          control::quoted(record.name), control::quoted(config.name)));
    GUST_TRY(validateConfig(config));
    applyConfig(config, record);
    return okStatus();
  });
}

Result<store::FunctionRecord> FunctionService::updateCode(std::string_view name,
                                                          std::string_view zip,
                                                          std::string_view expected_revision_id,
                                                          bool publish) {
  // A missing function is reported before its code is stored.
  GUST_TRY(store_.getFunction(name));
  GUST_ASSIGN_OR_RETURN(StoredCode code, storeCode(zip));
  GUST_ASSIGN_OR_RETURN(
      store::FunctionRecord stored,
      updateLatest(name, expected_revision_id, [&](store::FunctionRecord& record) -> Status {
        record.code_sha256 = code.sha256;
        record.code_size = code.size;
        return okStatus();
      }));
  if (!publish) return stored;
  return store_.publishVersion(name, "", stored.code_sha256, stored.revision_id);
}

Result<store::FunctionRecord> FunctionService::get(std::string_view name) {
  return store_.getFunction(name);
}

Result<std::vector<store::FunctionRecord>> FunctionService::list() {
  return store_.listFunctions();
}

Status FunctionService::remove(std::string_view name) { return store_.deleteFunction(name); }

Result<store::FunctionRecord> FunctionService::publishVersion(
    std::string_view name, std::string description, std::string_view expected_code_sha256,
    std::string_view expected_revision_id) {
  GUST_TRY(validateDescription(description));
  return store_.publishVersion(name, std::move(description), expected_code_sha256,
                               expected_revision_id);
}

Result<store::FunctionRecord> FunctionService::getVersion(std::string_view name,
                                                          std::string_view version) {
  return store_.getVersion(name, version);
}

Result<std::vector<store::FunctionRecord>> FunctionService::listVersions(std::string_view name) {
  return store_.listVersions(name);
}

Status FunctionService::deleteVersion(std::string_view name, std::string_view version) {
  return store_.deleteVersion(name, version);
}

Result<store::AliasRecord> FunctionService::createAlias(store::AliasRecord alias) {
  GUST_TRY(validateAlias(alias));
  return store_.createAlias(std::move(alias));
}

Result<store::AliasRecord> FunctionService::updateAlias(store::AliasRecord alias,
                                                        std::string_view expected_revision_id) {
  GUST_TRY(validateAlias(alias));
  return store_.updateAlias(std::move(alias), expected_revision_id);
}

Result<store::AliasRecord> FunctionService::getAlias(std::string_view function,
                                                     std::string_view name) {
  return store_.getAlias(function, name);
}

Result<std::vector<store::AliasRecord>> FunctionService::listAliases(std::string_view function) {
  return store_.listAliases(function);
}

Status FunctionService::deleteAlias(std::string_view function, std::string_view name) {
  return store_.deleteAlias(function, name);
}

Result<store::FunctionRecord> FunctionService::resolve(std::string_view name,
                                                       std::string_view qualifier,
                                                       double uniform01) {
  if (qualifier.empty() || qualifier == kLatest) return store_.getFunction(name);
  if (isVersionNumber(qualifier)) return store_.getVersion(name, qualifier);
  GUST_ASSIGN_OR_RETURN(store::AliasRecord alias, store_.getAlias(name, qualifier));
  std::string version = alias.function_version;
  // At most one additional version (validateAlias): it takes the draws below its weight.
  for (const auto& [additional, weight] : alias.additional_weights)
    if (uniform01 < weight) version = additional;
  return store_.getVersion(name, version);
}

Result<store::FunctionRecord> FunctionService::setReservedConcurrency(std::string_view name,
                                                                      std::optional<int> reserved) {
  return updateConfiguration(
      name,
      [&](FunctionConfig& config) -> Status {
        config.reserved_concurrency = reserved;
        return okStatus();
      },
      "");
}

Status FunctionService::checkQualifierForProvisioned(std::string_view function,
                                                     std::string_view qualifier) {
  if (qualifier.empty() || qualifier == kLatest)
    return Error::invalid(
        "qualifier: provisioned concurrency cannot be configured on $LATEST; allowed: a published "
        "version number or an alias — publish a version first");
  if (isVersionNumber(qualifier)) {
    GUST_TRY(store_.getVersion(function, qualifier));
    return okStatus();
  }
  GUST_ASSIGN_OR_RETURN(store::AliasRecord alias, store_.getAlias(function, qualifier));
  if (alias.function_version == kLatest)
    return Error::invalid(fmt::format(
        "qualifier: alias {} points to $LATEST, which cannot have provisioned concurrency; "
        "allowed: a published version number or an alias of one",
        control::quoted(alias.name)));
  return okStatus();
}

Result<store::ProvisionedConfigRecord> FunctionService::putProvisionedConfig(
    std::string_view function, std::string_view qualifier, int requested) {
  if (requested < 1 || requested > kAccountConcurrencyLimit)
    return Error::invalid(fmt::format(
        "provisioned concurrency: {} is out of range; allowed: 1 to {} (delete the config to "
        "provision nothing)",
        requested, kAccountConcurrencyLimit));
  GUST_TRY(checkQualifierForProvisioned(function, qualifier));
  // Lambda: a function's provisioned concurrency (all its qualifiers) fits in its reservation,
  // or, unreserved, in what the account keeps unreserved.
  std::lock_guard lock(reservation_mu_);
  GUST_ASSIGN_OR_RETURN(store::FunctionRecord latest, store_.getFunction(function));
  GUST_ASSIGN_OR_RETURN(auto configs, store_.listProvisionedConfigs(function));
  int total = requested + latest.provisioned_concurrency;
  for (const auto& c : configs)
    if (c.qualifier != qualifier) total += c.requested;
  int limit =
      latest.reserved_concurrency.value_or(kAccountConcurrencyLimit - kMinUnreservedConcurrency);
  if (total > limit)
    return Error::invalid(fmt::format(
        "provisioned concurrency: {} for {} makes {} for function \"{}\" in all, more than {} "
        "({}); lower it, or raise the function's reserved concurrency",
        requested, qualifier, total, function, limit,
        latest.reserved_concurrency ? "its reserved concurrency"
                                    : "the account's unreserved pool"));
  store::ProvisionedConfigRecord config;
  config.function = std::string(function);
  config.qualifier = std::string(qualifier);
  config.requested = requested;
  return store_.putProvisionedConfig(std::move(config));
}

Result<store::ProvisionedConfigRecord> FunctionService::getProvisionedConfig(
    std::string_view function, std::string_view qualifier) {
  return store_.getProvisionedConfig(function, qualifier);
}

Result<std::vector<store::ProvisionedConfigRecord>> FunctionService::listProvisionedConfigs(
    std::string_view function) {
  return store_.listProvisionedConfigs(function);
}

Status FunctionService::deleteProvisionedConfig(std::string_view function,
                                                std::string_view qualifier) {
  return store_.deleteProvisionedConfig(function, qualifier);
}

Result<store::EventInvokeConfigRecord> FunctionService::putEventInvokeConfig(
    store::EventInvokeConfigRecord config) {
  if (config.maximum_retry_attempts &&
      (*config.maximum_retry_attempts < 0 || *config.maximum_retry_attempts > 2))
    return Error::invalid(fmt::format("MaximumRetryAttempts: {} is out of range; allowed: 0 to 2",
                                      *config.maximum_retry_attempts));
  if (config.maximum_event_age_s &&
      (*config.maximum_event_age_s < 60 || *config.maximum_event_age_s > 21600))
    return Error::invalid(
        fmt::format("MaximumEventAgeInSeconds: {} is out of range; allowed: 60 to 21600 (6 hours)",
                    *config.maximum_event_age_s));
  if (config.qualifier.empty()) config.qualifier = std::string(kLatest);
  if (config.qualifier == kLatest) {
    GUST_TRY(store_.getFunction(config.function));
  } else if (isVersionNumber(config.qualifier)) {
    GUST_TRY(store_.getVersion(config.function, config.qualifier));
  } else {
    GUST_TRY(store_.getAlias(config.function, config.qualifier));
  }
  return store_.putEventInvokeConfig(std::move(config));
}

Result<store::EventInvokeConfigRecord> FunctionService::getEventInvokeConfig(
    std::string_view function, std::string_view qualifier) {
  if (qualifier.empty()) qualifier = kLatest;
  GUST_TRY(store_.getFunction(function));
  return store_.getEventInvokeConfig(function, qualifier);
}

Result<std::vector<store::EventInvokeConfigRecord>> FunctionService::listEventInvokeConfigs(
    std::string_view function) {
  return store_.listEventInvokeConfigs(function);
}

Status FunctionService::deleteEventInvokeConfig(std::string_view function,
                                                std::string_view qualifier) {
  if (qualifier.empty()) qualifier = kLatest;
  GUST_TRY(store_.getFunction(function));
  return store_.deleteEventInvokeConfig(function, qualifier);
}

Result<std::vector<store::LogRecord>> FunctionService::queryLogs(const store::LogQuery& query) {
  return store_.queryLogs(query);
}

Result<std::filesystem::path> FunctionService::codeDir(const store::FunctionRecord& record) {
  if (!isSha256Hex(record.code_sha256))
    return Error::internal(
        fmt::format("function \"{}\" has an invalid code_sha256 \"{}\"; redeploy the function",
                    record.name, record.code_sha256.substr(0, 80)));
  std::filesystem::path dir = code_cache_root_ / record.code_sha256;
  if (isDirectory(dir)) return dir;
  GUST_ASSIGN_OR_RETURN(std::string zip, blobs_.get(record.code_sha256));
  if (sha256Hex(zip) != record.code_sha256)
    return Error::internal(fmt::format(
        "code blob {} of function \"{}\" is corrupt (its SHA-256 does not match); redeploy the "
        "function",
        record.code_sha256, record.name));
  GUST_TRY(ensureExtracted(record.code_sha256, zip));
  return dir;
}

Result<std::string> FunctionService::codeZip(std::string_view sha256_hex) {
  if (!isSha256Hex(sha256_hex))
    return Error::notFound("no code with that SHA-256; ask GetFunction for a fresh link");
  return blobs_.get(sha256_hex);
}

Status FunctionService::ensureExtracted(std::string_view sha256, std::string_view zip) {
  std::lock_guard lock(extract_mu_);
  std::filesystem::path dir = code_cache_root_ / std::string(sha256);
  if (isDirectory(dir)) return okStatus();  // directories appear only complete (renamed in)
  std::error_code ec;
  std::filesystem::create_directories(code_cache_root_, ec);
  if (ec)
    return Error::internal(fmt::format("cannot create code cache {}: {}; check permissions",
                                       code_cache_root_.string(), ec.message()));
  Status extracted = extractZip(zip, dir);
  // Another process sharing the cache may have extracted the same code meanwhile.
  if (!extracted.ok() && extracted.error().code == ErrorCode::kAlreadyExists && isDirectory(dir))
    return okStatus();
  return extracted;
}

}  // namespace gust::control
