#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/defer.h"
#include "common/unique_fd.h"

namespace gust {

Result<std::string> readFile(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno(fmt::format("cannot open {}", path.string()), errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno(fmt::format("cannot read {}", path.string()), errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, int mode) {
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp.{}", ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return Error::fromErrno(fmt::format("cannot create {}", tmp.string()), errno);
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
    return Error::fromErrno(fmt::format("cannot chmod {}", tmp.string()), errno);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::unlink(tmp.c_str());
      return Error::fromErrno(fmt::format("cannot write {}", tmp.string()), errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    ::unlink(tmp.c_str());
    return Error::fromErrno(fmt::format("cannot fsync {}", tmp.string()), errno);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Error::fromErrno(fmt::format("cannot rename {} to {}", tmp.string(), path.string()),
                            errno);
  }
  return okStatus();
}

namespace {

Result<std::string> readKeyFile(const std::filesystem::path& path, int fd, size_t bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Error::fromErrno(fmt::format("cannot stat {}", path.string()), errno);
  if (!S_ISREG(st.st_mode))
    return Error::invalid(fmt::format("key file {} is not a regular file", path.string()));
  if ((st.st_mode & 077) != 0)
    return Error::invalid(
        fmt::format("key file {} is accessible to group or others (mode {:04o}); it holds a "
                    "secret: chmod 600 it",
                    path.string(), st.st_mode & 07777));
  std::string key(bytes, '\0');
  size_t off = 0;
  while (off < bytes) {
    ssize_t n = ::read(fd, key.data() + off, bytes - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno(fmt::format("cannot read {}", path.string()), errno);
    }
    if (n == 0) break;
    off += static_cast<size_t>(n);
  }
  char extra;
  if (off != bytes || ::read(fd, &extra, 1) != 0)
    return Error::invalid(fmt::format(
        "key file {} is not {} bytes long: it is damaged or not a Gust key; restore it from a "
        "backup (secrets sealed with the old key cannot be read without it)",
        path.string(), bytes));
  return key;
}

}  // namespace

Result<std::string> loadOrCreateKeyFile(const std::filesystem::path& path, size_t bytes) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd) return readKeyFile(path, fd.get(), bytes);
    if (errno != ENOENT)
      return Error::fromErrno(fmt::format("cannot open {}", path.string()), errno);

    // Create under a unique temporary name, then link(2) it into place: link never replaces an
    // existing file, so a concurrent creator's key wins and we read that one instead.
    std::filesystem::path tmp = path;
    tmp += fmt::format(".tmp.{}.{}", ::getpid(), randomHex(4));
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) return Error::fromErrno(fmt::format("cannot create {}", tmp.string()), errno);
    Defer remove_tmp([&] { ::unlink(tmp.c_str()); });
    if (::fchmod(out.get(), 0600) != 0)
      return Error::fromErrno(fmt::format("cannot chmod {}", tmp.string()), errno);
    std::string key = randomBytes(bytes);
    size_t off = 0;
    while (off < key.size()) {
      ssize_t n = ::write(out.get(), key.data() + off, key.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::fromErrno(fmt::format("cannot write {}", tmp.string()), errno);
      }
      off += static_cast<size_t>(n);
    }
    if (::fsync(out.get()) != 0)
      return Error::fromErrno(fmt::format("cannot fsync {}", tmp.string()), errno);
    out.reset();
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) continue;  // another process created it first: read theirs
      return Error::fromErrno(fmt::format("cannot create {}", path.string()), errno);
    }
    // Make the new directory entry durable too, so a crash cannot lose the key after secrets
    // were sealed with it.
    UniqueFd dir(::open(path.has_parent_path() ? path.parent_path().c_str() : ".",
                        O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
    return key;
  }
  return Error::internal(
      fmt::format("cannot create or read {}: it keeps disappearing", path.string()));
}

}  // namespace gust
