// The function service: deploys, reads and deletes functions. It validates, stores the code
// blob (content-addressed), extracts it once per SHA-256 into the code cache, and writes the
// metadata to the Store. Transport-neutral: the gateway maps HTTP onto it.
#pragma once

#include <filesystem>
#include <mutex>
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
  // says what is wrong), kTooLarge for oversized code.
  Result<DeployOutcome> deploy(const DeployRequest& request);
  Result<store::FunctionRecord> get(std::string_view name);
  Result<std::vector<store::FunctionRecord>> list();
  Status remove(std::string_view name);
  // Invocation logs (see store::Store::queryLogs).
  Result<std::vector<store::LogRecord>> queryLogs(const store::LogQuery& query);

  // The extracted code of `record` on the host; extracts from the blob store if the cache lacks
  // it (e.g. after the cache was cleaned).
  Result<std::filesystem::path> codeDir(const store::FunctionRecord& record);

 private:
  Status ensureExtracted(std::string_view sha256, std::string_view zip);

  store::Store& store_;
  const store::BlobStore& blobs_;
  std::filesystem::path code_cache_root_;
  std::mutex extract_mu_;  // serialises extraction into the cache
};

}  // namespace gust::control
