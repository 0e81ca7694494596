// `gust init`: the files of a new function directory per runtime (a gust.yaml and a handler
// that greets), and writing them without ever overwriting anything.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::cli {

struct ScaffoldFile {
  std::string path;  // relative to the function directory
  std::string content;
  bool executable = false;
};

// The runtimes `gust init` has a template for.
const std::vector<std::string>& scaffoldRuntimes();

// The files of a function `name` (validated as gust.yaml would be) for `runtime`.
// kInvalidArgument for a bad name or a runtime without a template.
Result<std::vector<ScaffoldFile>> scaffoldFiles(std::string_view runtime, std::string_view name);

// Writes `files` under `dir` (created if missing). kAlreadyExists, writing nothing, if any of
// them exists.
Status writeScaffold(const std::filesystem::path& dir, const std::vector<ScaffoldFile>& files);

}  // namespace gust::cli
