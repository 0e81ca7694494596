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

}  // namespace

FunctionService::FunctionService(store::Store& store, const store::BlobStore& blobs,
                                 std::filesystem::path code_cache_root)
    : store_(store), blobs_(blobs), code_cache_root_(std::move(code_cache_root)) {}

Result<DeployOutcome> FunctionService::deploy(const DeployRequest& request) {
  const FunctionConfig& config = request.config;
  GUST_TRY(validateConfig(config));
  if (request.zip.size() > kMaxZipBytes)
    return Error::tooLarge(fmt::format(
        "code zip is {} bytes; allowed: at most {} MB zipped — remove files the function does "
        "not need",
        request.zip.size(), kMaxZipBytes >> 20));
  if (request.zip.empty())
    return Error::invalid("code zip is empty; zip the function's code directory");

  std::string sha = sha256Hex(request.zip);
  GUST_TRY(ensureExtracted(sha, request.zip));
  GUST_ASSIGN_OR_RETURN(std::string stored_sha, blobs_.put(request.zip));
  GUST_CHECK(stored_sha == sha, "the blob store addresses blobs by the same SHA-256");

  store::FunctionRecord record;
  record.name = config.name;
  record.runtime = config.runtime;
  record.handler = config.handler;
  record.memory_mb = config.memory_mb;
  record.timeout_s = config.timeout_s;
  record.environment = config.environment;
  record.description = config.description;
  record.reserved_concurrency = config.reserved_concurrency;
  record.provisioned_concurrency = config.provisioned_concurrency;
  record.ephemeral_storage_mb = config.ephemeral_storage_mb;
  record.network = config.network;
  record.code_sha256 = sha;
  record.code_size = static_cast<int64_t>(request.zip.size());
  GUST_ASSIGN_OR_RETURN(store::FunctionRecord stored, store_.putFunction(std::move(record)));
  // Revision 1 means this put created the row; asking the store beforehand would race with a
  // concurrent deploy of the same name.
  bool created = stored.revision == 1;
  return DeployOutcome{std::move(stored), created};
}

Result<store::FunctionRecord> FunctionService::get(std::string_view name) {
  return store_.getFunction(name);
}

Result<std::vector<store::FunctionRecord>> FunctionService::list() {
  return store_.listFunctions();
}

Status FunctionService::remove(std::string_view name) { return store_.deleteFunction(name); }

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
