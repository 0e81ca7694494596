// The embedded default Store: one SQLite database file in WAL mode.
#pragma once

#include <filesystem>
#include <memory>

#include "store/store.h"

namespace gust::store {

// Opens (creating and migrating if needed) the database at `path`. Sets WAL mode,
// synchronous=FULL and a busy timeout. The returned Store is thread-safe.
Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& path);

}  // namespace gust::store
