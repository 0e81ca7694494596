// Content-addressed storage of code archives on the local filesystem:
//   <root>/<sha256[0:2]>/<sha256>.zip
// Blobs are immutable; writing the same bytes twice is a no-op.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::store {

// Thread-safety: all methods may be called concurrently (writes go through a temp file + rename).
class BlobStore {
 public:
  // Creates `root` (0700) if missing.
  static Result<BlobStore> open(std::filesystem::path root);

  // Stores `bytes` durably and returns their lower-case hex SHA-256.
  Result<std::string> put(std::string_view bytes) const;
  // kNotFound if absent.
  Result<std::string> get(std::string_view sha256_hex) const;
  bool contains(std::string_view sha256_hex) const;
  std::filesystem::path pathOf(std::string_view sha256_hex) const;

 private:
  explicit BlobStore(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace gust::store
