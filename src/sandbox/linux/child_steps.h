// Steps shared by the sandboxes' child recipes (between clone/fork and exec), and two host-side
// helpers. The child-side functions make raw syscalls only: no allocation, no locks, no libc
// state — they run in a child forked from a multi-threaded server. They return 0 or an errno so
// each recipe reports the failure as its own step.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace gust::sandbox::child {

// The fd the error pipe lives on in the child, just above the instance's fds 0-3.
inline constexpr int kErrorFd = 4;
// Where the child parks the fds it keeps before placing them at 0-4.
inline constexpr int kParkFdBase = 10;

// The kernel's struct sigaction for rt_sigaction (no restorer is needed for SIG_DFL).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

// Default dispositions for every signal (ignored ones would survive exec), then an empty mask
// (the host blocks everything around the fork).
inline int resetSignals() {
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction action{SIG_DFL, 0, nullptr, 0};
    ::syscall(SYS_rt_sigaction, sig, &action, nullptr, sizeof(uint64_t));
  }
  uint64_t empty_mask = 0;
  if (::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, sizeof empty_mask) != 0)
    return errno;
  return 0;
}

// The instance's resource limits: open files, file size, no core dumps, and — when
// `max_processes` > 0 — processes of the real uid. No RLIMIT_AS: language runtimes reserve far
// more address space than they use.
inline int setLimits(uint64_t max_open_files, uint64_t max_file_bytes, uint64_t max_processes) {
  struct rlimit nofile {
    max_open_files, max_open_files
  };
  struct rlimit no_core {
    0, 0
  };
  struct rlimit fsize {
    max_file_bytes, max_file_bytes
  };
  struct rlimit nproc {
    max_processes, max_processes
  };
  if (::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nofile, nullptr) != 0 ||
      ::syscall(SYS_prlimit64, 0, RLIMIT_CORE, &no_core, nullptr) != 0 ||
      ::syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, &fsize, nullptr) != 0 ||
      (max_processes > 0 && ::syscall(SYS_prlimit64, 0, RLIMIT_NPROC, &nproc, nullptr) != 0))
    return errno;
  return 0;
}

// The instance's standard fds, as the host prepared them.
struct StdFds {
  int channel = -1;  // -> 3
  int out = -1;      // -> 1
  int err = -1;      // -> 2
  int null = -1;     // -> 0
};

// Leaves exactly fds 0-3 for the instance plus the error pipe on kErrorFd (CLOEXEC): parks the
// kept fds above kParkFdBase first (an inherited fd may sit on 0-4), places them, and closes
// everything else. `error_fd` is updated as the pipe moves, so a failure can still be reported.
inline int placeStdFds(int& error_fd, const StdFds& fds) {
  int parked_error = ::fcntl(error_fd, F_DUPFD_CLOEXEC, kParkFdBase);
  if (parked_error < 0) return errno;
  error_fd = parked_error;
  int channel = ::fcntl(fds.channel, F_DUPFD_CLOEXEC, kParkFdBase);
  int out = ::fcntl(fds.out, F_DUPFD_CLOEXEC, kParkFdBase);
  int err = ::fcntl(fds.err, F_DUPFD_CLOEXEC, kParkFdBase);
  int null = ::fcntl(fds.null, F_DUPFD_CLOEXEC, kParkFdBase);
  if (channel < 0 || out < 0 || err < 0 || null < 0) return errno;
  if (::dup3(error_fd, kErrorFd, O_CLOEXEC) < 0) return errno;
  error_fd = kErrorFd;
  // dup2 clears CLOEXEC on the targets.
  if (::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 || ::dup2(channel, 3) < 0)
    return errno;
  if (::syscall(SYS_close_range, kErrorFd + 1, ~0U, 0) != 0) {
    // Kernels before 5.9: close one by one up to the current limit.
    struct rlimit nofile {};
    if (::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &nofile) != 0) return errno;
    rlim_t limit = nofile.rlim_cur == RLIM_INFINITY ? 65536 : nofile.rlim_cur;
    for (rlim_t fd = kErrorFd + 1; fd < limit; ++fd) ::close(static_cast<int>(fd));
  }
  return 0;
}

}  // namespace gust::sandbox::child

namespace gust::sandbox {

// The highest capability number of the running kernel (for dropping the bounding set).
int lastCapability();
// Converts a waitid() result to a waitpid()-style status.
int waitStatusFromSiginfo(const siginfo_t& info);

}  // namespace gust::sandbox
