// The metadata store: functions and their configuration. One interface, several backends
// (sqlite/ now; PostgreSQL later). Code bytes live in the BlobStore, addressed by SHA-256.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::store {

// One function's $LATEST configuration as stored. Validation happens before the store (control/).
struct FunctionRecord {
  std::string name;
  std::string runtime;  // e.g. "python3.11"
  std::string handler;  // e.g. "app.handler"
  int memory_mb = 128;
  int timeout_s = 3;
  std::map<std::string, std::string> environment;
  std::string description;
  std::string code_sha256;    // hex SHA-256 of the zip: the blob's address
  int64_t code_size = 0;      // bytes of the zip
  std::string last_modified;  // ISO 8601 UTC with milliseconds, e.g. 2026-11-24T20:46:29.123+0000
  int64_t revision = 0;       // bumped by every successful putFunction; 1 on creation

  bool operator==(const FunctionRecord&) const = default;
};

// Thread-safety: every method may be called concurrently from any thread.
// Durability: a method that returned ok has its effect on disk (survives a crash).
class Store {
 public:
  virtual ~Store() = default;

  // Creates the function, or replaces its configuration if it exists. Sets `revision` (1 on
  // create, previous + 1 on replace) and returns the stored record.
  virtual Result<FunctionRecord> putFunction(FunctionRecord record) = 0;
  // kNotFound if there is no such function.
  virtual Result<FunctionRecord> getFunction(std::string_view name) = 0;
  // All functions, ordered by name.
  virtual Result<std::vector<FunctionRecord>> listFunctions() = 0;
  // kNotFound if there is no such function. Blobs are not removed (they may be shared).
  virtual Status deleteFunction(std::string_view name) = 0;
};

}  // namespace gust::store
