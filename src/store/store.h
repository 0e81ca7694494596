// The metadata store: functions and their configuration. One interface, several backends
// (sqlite/ now; PostgreSQL later). Code bytes live in the BlobStore, addressed by SHA-256.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
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
  std::optional<int> reserved_concurrency;  // nullopt: unreserved
  int provisioned_concurrency = 0;
  int ephemeral_storage_mb = 512;  // size of /tmp
  std::string network = "none";    // "none" or "egress"

  bool operator==(const FunctionRecord&) const = default;
};

// One invocation's log text (Lambda's START ... REPORT lines and the function's output between).
struct LogRecord {
  int64_t id = 0;  // assigned by appendLogs; increases with every record appended
  std::string function;
  std::string version;       // e.g. "$LATEST"
  std::string request_id;    // empty for output outside an invocation (a provisioned init)
  int64_t timestamp_ms = 0;  // wall-clock epoch milliseconds
  std::string text;

  bool operator==(const LogRecord&) const = default;
};

// Which logs to return: every set field must match. Results are ordered by id (oldest first).
struct LogQuery {
  std::string function;  // required
  std::optional<std::string> version;
  std::optional<std::string> request_id;
  int64_t since_ms = 0;                                    // timestamp_ms >= since_ms
  int64_t until_ms = std::numeric_limits<int64_t>::max();  // timestamp_ms < until_ms
  int64_t after_id = 0;  // id > after_id: a cursor for following new records
  int limit = 100;       // at most this many, the oldest that match
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

  // Appends log records in one transaction, assigning their ids in order. Logs outlive their
  // function (deleteFunction keeps them until they expire).
  virtual Status appendLogs(std::vector<LogRecord> records) = 0;
  virtual Result<std::vector<LogRecord>> queryLogs(const LogQuery& query) = 0;
  // Deletes records with timestamp_ms < before_ms; returns how many.
  virtual Result<int64_t> pruneLogs(int64_t before_ms) = 0;
};

}  // namespace gust::store
