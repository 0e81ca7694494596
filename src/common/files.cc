#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

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

}  // namespace gust
