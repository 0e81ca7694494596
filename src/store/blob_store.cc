// Content-addressed blob files. A blob's path is derived from its SHA-256, so the address is
// validated before it touches the filesystem: a caller-supplied "sha" like "../../x" must never
// name a path outside the root.
#include "store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/files.h"
#include "common/unique_fd.h"

namespace gust::store {
namespace {

bool isSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status checkSha(std::string_view sha256_hex) {
  if (isSha256Hex(sha256_hex)) return okStatus();
  return Error::invalid(
      fmt::format("blob address \"{}\" is not a SHA-256; expected 64 lower-case hex characters",
                  sha256_hex.substr(0, 80)));
}

// Makes a rename inside `dir` durable.
Status fsyncDir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::fromErrno(fmt::format("cannot open directory {}", dir.string()), errno);
  if (::fsync(fd.get()) != 0)
    return Error::fromErrno(fmt::format("cannot fsync directory {}", dir.string()), errno);
  return okStatus();
}

Status makeDir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error::fromErrno(
        fmt::format("cannot create blob directory {}; check its parent is writable", dir.string()),
        errno);
  return okStatus();
}

}  // namespace

Result<BlobStore> BlobStore::open(std::filesystem::path root) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec)
    return Error::internal(fmt::format("cannot create blob store {}: {}; check permissions",
                                       root.string(), ec.message()));
  if (::chmod(root.c_str(), 0700) != 0)
    return Error::fromErrno(fmt::format("cannot chmod blob store {}", root.string()), errno);
  return BlobStore(std::move(root));
}

std::filesystem::path BlobStore::pathOf(std::string_view sha256_hex) const {
  // An invalid address gets an empty path, which every filesystem call rejects, rather than a
  // path built from untrusted text.
  if (!isSha256Hex(sha256_hex)) return {};
  std::string sha(sha256_hex);
  return root_ / sha.substr(0, 2) / (sha + ".zip");
}

Result<std::string> BlobStore::put(std::string_view bytes) const {
  std::string sha = sha256Hex(bytes);
  if (contains(sha)) return sha;  // immutable and content-addressed: already there means done
  std::filesystem::path dir = root_ / sha.substr(0, 2);
  GUST_TRY(makeDir(dir));
  std::filesystem::path final_path = pathOf(sha);
  // writeFileAtomic's temporary name is per process, so two threads storing the same blob would
  // share it. Each call therefore stages under its own random name and renames that into place;
  // both writers produce identical bytes, so whichever rename lands last is equally correct.
  std::filesystem::path staging = final_path;
  staging += fmt::format(".staging.{}", randomHex(8));
  GUST_TRY(writeFileAtomic(staging, bytes, 0644));
  if (::rename(staging.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(staging.c_str());
    return Error::fromErrno(fmt::format("cannot store blob {}", final_path.string()), err);
  }
  GUST_TRY(fsyncDir(dir));
  return sha;
}

Result<std::string> BlobStore::get(std::string_view sha256_hex) const {
  GUST_TRY(checkSha(sha256_hex));
  std::filesystem::path p = pathOf(sha256_hex);
  if (::access(p.c_str(), F_OK) != 0 && errno == ENOENT)
    return Error::notFound(
        fmt::format("code blob {} is not in the blob store {}; redeploy the "
                    "function to upload its code again",
                    sha256_hex, root_.string()));
  return readFile(p);
}

bool BlobStore::contains(std::string_view sha256_hex) const {
  if (!isSha256Hex(sha256_hex)) return false;
  struct stat st {};
  return ::stat(pathOf(sha256_hex).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace gust::store
