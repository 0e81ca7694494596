// Fuzzes zip extraction with hostile archives: extraction must succeed or fail cleanly, never
// write outside the destination, and leave nothing behind on failure.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "common/check.h"
#include "control/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::error_code ec;
  std::string base = (std::filesystem::temp_directory_path(ec) / "gust-zip-fuzz-XXXXXX").string();
  GUST_CHECK(::mkdtemp(base.data()) != nullptr, "mkdtemp must work in the temp directory");
  std::filesystem::path root(base);
  std::filesystem::path dest = root / "out";

  gust::control::ExtractLimits limits{.max_unzipped_bytes = 1 << 20, .max_entries = 64};
  std::string_view zip(reinterpret_cast<const char*>(data), size);
  auto status = gust::control::extractZip(zip, dest, limits);

  // Whatever happened, the only thing that may exist in `root` is `dest`, and only on success.
  size_t children = 0;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    GUST_CHECK(status.ok() && e.path() == dest, "extraction left something behind");
    ++children;
  }
  GUST_CHECK(!status.ok() || children == 1, "a successful extraction creates dest");
  std::filesystem::remove_all(root, ec);
  return 0;
}
