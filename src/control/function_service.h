// The function service: deploys, reads and deletes functions. It validates, stores the code
// blob (content-addressed), extracts it once per SHA-256 into the code cache, and writes the
// metadata to the Store. Transport-neutral: the gateway maps HTTP onto it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/function_config.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace gust::control {

struct DeployOutcome {
  store::FunctionRecord record;
  bool created = false;  // false: an existing function was updated
};

// Thread-safety: all methods may be called concurrently. `store` and `blobs` must outlive it.
class FunctionService {
 public:
  FunctionService(store::Store& store, const store::BlobStore& blobs,
                  std::filesystem::path code_cache_root);

  // Creates or updates the function. kInvalidArgument for a bad config or zip (the message
  // says what is wrong) or a reservation the account cannot spare, kTooLarge for oversized code.
  Result<DeployOutcome> deploy(const DeployRequest& request);
  // Lambda's CreateFunction: like deploy, but kAlreadyExists if the function exists. With
  // `publish`, also publishes version 1 and returns it.
  Result<store::FunctionRecord> create(const DeployRequest& request, std::string_view role,
                                       bool publish);
  // Lambda's UpdateFunctionConfiguration: reads $LATEST's configuration, lets `change` edit it,
  // validates and stores it with the same code. kFailedPrecondition if `expected_revision_id` is
  // non-empty and stale (also when a concurrent update won). With an empty one, an update that
  // loses a race is redone on the newer configuration, so `change` may run more than once. The
  // name cannot change; a reservation is checked as in setReservedConcurrency.
  Result<store::FunctionRecord> updateConfiguration(
      std::string_view name, const std::function<Status(FunctionConfig&)>& change,
      std::string_view expected_revision_id);
  // Lambda's UpdateFunctionCode: new code for $LATEST (checked and extracted as in deploy), the
  // configuration unchanged; with `publish`, also publishes and returns the new version.
  Result<store::FunctionRecord> updateCode(std::string_view name, std::string_view zip,
                                           std::string_view expected_revision_id, bool publish);
  Result<store::FunctionRecord> get(std::string_view name);
  Result<std::vector<store::FunctionRecord>> list();
  Status remove(std::string_view name);

  // Versions and aliases (see store::Store for the semantics). Alias names must match
  // (?!^[0-9]+$)([a-zA-Z0-9-_]+) (≤ 128 characters); a routing config has at most one
  // additional version, with a weight in [0.0, 1.0], other than the primary version, and neither
  // may be $LATEST when weights are given — kInvalidArgument otherwise.
  Result<store::FunctionRecord> publishVersion(std::string_view name, std::string description,
                                               std::string_view expected_code_sha256,
                                               std::string_view expected_revision_id);
  Result<store::FunctionRecord> getVersion(std::string_view name, std::string_view version);
  Result<std::vector<store::FunctionRecord>> listVersions(std::string_view name);
  Status deleteVersion(std::string_view name, std::string_view version);
  Result<store::AliasRecord> createAlias(store::AliasRecord alias);
  Result<store::AliasRecord> updateAlias(store::AliasRecord alias,
                                         std::string_view expected_revision_id);
  Result<store::AliasRecord> getAlias(std::string_view function, std::string_view name);
  Result<std::vector<store::AliasRecord>> listAliases(std::string_view function);
  Status deleteAlias(std::string_view function, std::string_view name);

  // The version an invocation of `name` with `qualifier` runs: "" or "$LATEST" → $LATEST, a
  // number → that version, otherwise an alias → its version, or with a routing config the
  // additional version with probability = its weight. `uniform01` is a number in [0, 1) (the
  // caller's random draw, so tests can steer it). kNotFound names what is missing.
  Result<store::FunctionRecord> resolve(std::string_view name, std::string_view qualifier,
                                        double uniform01);

  // Reserved concurrency (Lambda's Put/DeleteFunctionConcurrency): nullopt removes it. Checked
  // against the account limit: the unreserved pool must keep at least 100 (Lambda's rule), else
  // kInvalidArgument.
  Result<store::FunctionRecord> setReservedConcurrency(std::string_view name,
                                                       std::optional<int> reserved);
  // Provisioned concurrency per qualifier (a published version or an alias, never $LATEST —
  // kInvalidArgument); `requested` ≥ 1.
  Result<store::ProvisionedConfigRecord> putProvisionedConfig(std::string_view function,
                                                              std::string_view qualifier,
                                                              int requested);
  Result<store::ProvisionedConfigRecord> getProvisionedConfig(std::string_view function,
                                                              std::string_view qualifier);
  Result<std::vector<store::ProvisionedConfigRecord>> listProvisionedConfigs(
      std::string_view function);
  Status deleteProvisionedConfig(std::string_view function, std::string_view qualifier);
  // Asynchronous invocation settings per qualifier ($LATEST, a version or an alias, which must
  // exist: kNotFound). put checks MaximumRetryAttempts (0-2) and MaximumEventAgeInSeconds
  // (60-21600); destination ARNs are the caller's to check.
  Result<store::EventInvokeConfigRecord> putEventInvokeConfig(
      store::EventInvokeConfigRecord config);
  Result<store::EventInvokeConfigRecord> getEventInvokeConfig(std::string_view function,
                                                              std::string_view qualifier);
  Result<std::vector<store::EventInvokeConfigRecord>> listEventInvokeConfigs(
      std::string_view function);
  Status deleteEventInvokeConfig(std::string_view function, std::string_view qualifier);
  // Invocation logs (see store::Store::queryLogs).
  Result<std::vector<store::LogRecord>> queryLogs(const store::LogQuery& query);

  // The extracted code of `record` on the host; extracts from the blob store if the cache lacks
  // it (e.g. after the cache was cleaned).
  Result<std::filesystem::path> codeDir(const store::FunctionRecord& record);
  // The code zip with this SHA-256 (hex), as uploaded: kNotFound if there is none.
  Result<std::string> codeZip(std::string_view sha256_hex);

 private:
  struct StoredCode {
    std::string sha256;
    int64_t size = 0;
  };
  // The code step deploy, create and updateCode share: checks the zip's size, extracts it into
  // the cache (rejecting a zip that does not extract) and stores the blob.
  Result<StoredCode> storeCode(std::string_view zip);
  Status ensureExtracted(std::string_view sha256, std::string_view zip);
  // Reads $LATEST, lets `modify` edit it and writes it back on the condition that it has not
  // changed meanwhile: kFailedPrecondition if `expected_revision_id` is non-empty and stale;
  // with an empty one, a concurrent update is retried on top of the newer record.
  Result<store::FunctionRecord> updateLatest(
      std::string_view name, std::string_view expected_revision_id,
      const std::function<Status(store::FunctionRecord&)>& modify);
  // Runs `write`, a store write of `record`; when `record` reserves concurrency, first checks
  // the account's unreserved pool, under reservation_mu_ so two writers cannot both take the
  // last of it.
  Result<store::FunctionRecord> writeChecked(
      const store::FunctionRecord& record,
      const std::function<Result<store::FunctionRecord>()>& write);
  Status checkQualifierForProvisioned(std::string_view function, std::string_view qualifier);

  store::Store& store_;
  const store::BlobStore& blobs_;
  std::filesystem::path code_cache_root_;
  std::mutex extract_mu_;      // serialises extraction into the cache
  std::mutex reservation_mu_;  // serialises checking and writing reservations
};

}  // namespace gust::control
