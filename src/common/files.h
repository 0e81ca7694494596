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

}  // namespace gust
