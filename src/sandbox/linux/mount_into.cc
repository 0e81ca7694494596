#include "sandbox/linux/mount_into.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/unique_fd.h"

namespace gust::sandbox {
namespace {

// What the vfork-style child does; it shares our memory, so it only reads `job` and writes
// `err`, and makes raw syscalls.
struct Job {
  int pidfd = -1;
  int tree_fd = -1;  // bind: the detached mount to attach
  const char* target = nullptr;
  const char* tmpfs_options = nullptr;  // resize: "size=N"
  const char* step = nullptr;           // written by the child: which call failed
  int err = 0;
};

int childMain(void* arg) {
  auto* job = static_cast<Job*>(arg);
  if (::setns(job->pidfd, CLONE_NEWNS) != 0) {
    job->step = "setns";
    job->err = errno;
    return 1;
  }
  if (job->tree_fd >= 0) {
    if (::syscall(SYS_move_mount, job->tree_fd, "", AT_FDCWD, job->target,
                  MOVE_MOUNT_F_EMPTY_PATH) != 0) {
      job->step = "move_mount";
      job->err = errno;
      return 1;
    }
  } else if (::mount(nullptr, job->target, nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV,
                     job->tmpfs_options) != 0) {
    job->step = "remount";
    job->err = errno;
    return 1;
  }
  return 0;
}

Status runInNamespace(Job& job, std::string_view what) {
  // A small stack is enough: the child makes three syscalls. CLONE_VFORK suspends us until it
  // exits; without CLONE_FS/CLONE_FILES it may join another mount namespace.
  alignas(16) static thread_local char stack[16 * 1024];
  pid_t pid = ::clone(childMain, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &job);
  if (pid < 0) return Error::fromErrno(fmt::format("{}: clone", what), errno);
  int status = 0;
  while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error::fromErrno(fmt::format("{}: {}", what, job.step ? job.step : "child failed"),
                            job.err);
  }
  return okStatus();
}

}  // namespace

Status bindReadOnlyInto(int pidfd, const std::filesystem::path& source,
                        const std::filesystem::path& target) {
  std::string what =
      fmt::format("cannot mount {} at {} in the sandbox", source.string(), target.string());
  UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(),
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
  if (!tree) return Error::fromErrno(what + ": open_tree", errno);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  attr.propagation = MS_PRIVATE;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                sizeof attr) != 0) {
    return Error::fromErrno(what + ": mount_setattr", errno);
  }
  Job job;
  job.pidfd = pidfd;
  job.tree_fd = tree.get();
  std::string target_str = target.string();
  job.target = target_str.c_str();
  return runInNamespace(job, what);
}

Status resizeTmpfsIn(int pidfd, const std::filesystem::path& target, uint64_t bytes,
                     uint64_t inodes) {
  std::string options = inodes > 0 ? fmt::format("size={},nr_inodes={}", bytes, inodes)
                                   : fmt::format("size={}", bytes);
  std::string target_str = target.string();
  Job job;
  job.pidfd = pidfd;
  job.target = target_str.c_str();
  job.tmpfs_options = options.c_str();
  return runInNamespace(
      job, fmt::format("cannot resize the tmpfs at {} in the sandbox", target.string()));
}

}  // namespace gust::sandbox
