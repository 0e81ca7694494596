#include "common/unique_fd.h"

#include <unistd.h>

namespace gust {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);  // close() errors are not actionable here (the fd is gone either way)
  fd_ = fd;
}

}  // namespace gust
