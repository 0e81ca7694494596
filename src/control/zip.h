// Code archives: packing a directory into a zip (CLI) and extracting an uploaded zip safely
// (server). Extraction treats the archive as hostile: it rejects absolute paths, `..`
// components, links, devices and anything else that is not a regular file or a directory, and
// enforces size limits while it writes, so a zip bomb stops at the limit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::control {

inline constexpr uint64_t kMaxZipBytes = 50ull << 20;        // Lambda: 50 MB zipped
inline constexpr uint64_t kMaxUnzippedBytes = 250ull << 20;  // Lambda: 250 MB unzipped
inline constexpr uint64_t kMaxZipEntries = 20000;

struct ExtractLimits {
  uint64_t max_unzipped_bytes = kMaxUnzippedBytes;
  uint64_t max_entries = kMaxZipEntries;
};

// Zips the regular files under `dir` (recursively; skipping .git and __pycache__), with paths
// relative to `dir`, sorted, and fixed timestamps so the same tree gives the same bytes (and the
// same SHA-256). Keeps the executable bit. kTooLarge above kMaxZipBytes.
Result<std::string> zipDirectory(const std::filesystem::path& dir);

// Extracts `zip` into `dest` (which must not exist; created 0755). On any error nothing is left
// behind at `dest`. Files are created 0644 (0755 if executable in the archive).
Status extractZip(std::string_view zip, const std::filesystem::path& dest,
                  ExtractLimits limits = {});

}  // namespace gust::control
