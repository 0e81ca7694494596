// Small filesystem helpers that return Results with errors naming the path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust {

Result<std::string> readFile(const std::filesystem::path& path);
// Writes via a temporary file, fsync and rename, so readers never see a partial file.
Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, int mode = 0644);

// Returns the `bytes`-byte secret key stored raw in `path`, creating it first (random bytes,
// mode 0600) if the file does not exist. Creation is atomic and never replaces a file: the key
// is written and fsynced under a temporary name, then hard-linked into place, so a reader never
// sees a partial key and of two processes creating it at once both end up with the winner's.
// Fails, naming the path, if the existing file has the wrong size, is not a regular file, or is
// readable or writable by group or others (a secret must stay its owner's: chmod 600 it).
Result<std::string> loadOrCreateKeyFile(const std::filesystem::path& path, size_t bytes);

}  // namespace gust
