// The namespace sandbox. spawn() prepares everything in the host (the mount recipe as a list of
// operations, argv/env arrays, fds, the compiled seccomp program), then clones the sandbox's
// init into new namespaces. The init builds the root file system by running the recipe, brings
// up loopback, creates the Runtime API listener, forks the workload and reaps until the workload
// exits. The workload locks itself down (fds, rlimits, uid, capabilities, NNP, seccomp last) and
// execs. Between clone and exec only raw syscalls run: the server is multi-threaded and ASan's
// allocator must not be entered in the child.
#include "sandbox/linux/namespace_sandbox.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "common/defer.h"
#include "common/files.h"
#include "common/unique_fd.h"
#include "sandbox/linux/cgroups.h"
#include "sandbox/linux/child_steps.h"
#include "sandbox/linux/egress_network.h"
#include "sandbox/linux/mount_into.h"
#include "sandbox/linux/seccomp.h"

namespace gust::sandbox {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTaskRoot = "/var/task";
constexpr const char* kRuntimeRoot = "/var/runtime";
constexpr const char* kTmp = "/tmp";
constexpr uint16_t kRuntimeApiPort = 9001;
constexpr uint16_t kLambdaApiPort = 9002;
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;  // CLONE_INTO_CGROUP (Linux 5.7)
// The largest /tmp a function may ask for (Lambda's 10,240 MB of ephemeral storage): the file
// size backstop of a pre-started sandbox, whose function is not known yet.
constexpr uint64_t kMaxTmpBytes = 10240ull << 20;
constexpr uint64_t kNamespaceFlags =
    CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;

// ---------------------------------------------------------------------------------------------
// The root file system recipe: data built in the host, executed in order by the init.

struct MountOp {
  enum Kind { kMount, kMkdir, kTouch, kSymlink, kWrite, kPivot } kind;
  std::string target;  // path in the init's mount namespace
  std::string source;  // kMount: source (may be empty); kSymlink: link contents; kWrite: data
  std::string fstype;  // kMount
  unsigned long flags = 0;
  std::string data;  // kMount: options
  mode_t mode = 0755;
  std::string what;  // for error messages: "bind /usr read-only" ...
};

class RootRecipe {
 public:
  explicit RootRecipe(std::string base) : base_(std::move(base)) {}

  void tmpfs(const std::string& path, unsigned long flags, std::string options) {
    add({MountOp::kMount, at(path), "tmpfs", "tmpfs", flags, std::move(options), 0,
         "tmpfs on " + shown(path)});
  }
  void mkdir(const std::string& path, mode_t mode = 0755) {
    add({MountOp::kMkdir, at(path), "", "", 0, "", mode, "mkdir " + shown(path)});
  }
  // A read-only bind of a host directory or file. Sources are paths: a bind needs a mount of
  // the init's own namespace, which an fd opened before the clone is not.
  void bindReadOnly(const std::string& host_path, const std::string& path, bool is_dir,
                    unsigned long extra_flags = MS_NOSUID | MS_NODEV) {
    if (is_dir) {
      mkdir(path);
    } else {
      add({MountOp::kTouch, at(path), "", "", 0, "", 0644, "create " + shown(path)});
    }
    add({MountOp::kMount, at(path), host_path, "", MS_BIND | MS_REC, "", 0,
         fmt::format("bind {} on {}", host_path, shown(path))});
    add({MountOp::kMount, at(path), "", "", MS_BIND | MS_REMOUNT | MS_RDONLY | extra_flags, "", 0,
         "remount " + shown(path) + " read-only"});
  }
  // A writable bind (device nodes).
  void bindDevice(const std::string& host_path, const std::string& path) {
    add({MountOp::kTouch, at(path), "", "", 0, "", 0666, "create " + shown(path)});
    add({MountOp::kMount, at(path), host_path, "", MS_BIND, "", 0,
         fmt::format("bind {} on {}", host_path, shown(path))});
  }
  void symlink(const std::string& path, std::string contents) {
    add({MountOp::kSymlink, at(path), std::move(contents), "", 0, "", 0, "symlink " + shown(path)});
  }
  void write(const std::string& path, std::string contents) {
    add({MountOp::kWrite, at(path), std::move(contents), "", 0, "", 0644, "write " + shown(path)});
  }
  void mount(const std::string& path, std::string source, std::string fstype, unsigned long flags,
             std::string options, std::string what) {
    add({MountOp::kMount, at(path), std::move(source), std::move(fstype), flags, std::move(options),
         0, std::move(what)});
  }
  // pivot_root onto the base, detach the old root, then remount "/" read-only.
  void pivotAndSeal() {
    add({MountOp::kPivot, base_, "", "", 0, "", 0, "pivot_root into the new root"});
    add({MountOp::kMount, "/", "", "", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "", 0,
         "remount / read-only"});
  }

  const std::vector<MountOp>& ops() const { return ops_; }

 private:
  std::string at(const std::string& path) const { return path == "/" ? base_ : base_ + path; }
  static std::string shown(const std::string& path) { return path; }
  void add(MountOp op) { ops_.push_back(std::move(op)); }

  std::string base_;
  std::vector<MountOp> ops_;
};

// The child's view of one op: plain pointers into the host's strings.
struct RawOp {
  int kind;
  const char* target;
  const char* source;
  size_t source_len;
  const char* fstype;
  unsigned long flags;
  const char* data;
  mode_t mode;
};

// ---------------------------------------------------------------------------------------------
// The child side.

enum class ChildStep : int {
  kDeathSignal = 1,
  kParentGone,
  kPropagation,
  kNetns,
  kRoot,  // + op index
  kHostname,
  kLoopback,
  kRuntimeApi,
  kLambdaApi,
  kForkWorkload,
  kSetsid,
  kSignals,
  kFds,
  kRlimits,
  kCapabilities,
  kGroups,
  kGid,
  kUid,
  kNoNewPrivs,
  kSeccomp,
  kChdir,
  kExec,
};

const char* stepName(ChildStep step) {
  switch (step) {
    case ChildStep::kDeathSignal:
      return "prctl(PR_SET_PDEATHSIG)";
    case ChildStep::kParentGone:
      return "waiting for the host";
    case ChildStep::kPropagation:
      return "making mounts private";
    case ChildStep::kNetns:
      return "joining the sandbox's network namespace";
    case ChildStep::kRoot:
      return "building the root";
    case ChildStep::kHostname:
      return "sethostname";
    case ChildStep::kLoopback:
      return "bringing up loopback";
    case ChildStep::kRuntimeApi:
      return "creating the Runtime API listener on 127.0.0.1:9001";
    case ChildStep::kLambdaApi:
      return "creating the Lambda API listener on 127.0.0.1:9002";
    case ChildStep::kForkWorkload:
      return "forking the workload";
    case ChildStep::kSetsid:
      return "setsid";
    case ChildStep::kSignals:
      return "signal reset";
    case ChildStep::kFds:
      return "fd setup";
    case ChildStep::kRlimits:
      return "setrlimit";
    case ChildStep::kCapabilities:
      return "dropping capabilities";
    case ChildStep::kGroups:
      return "setgroups";
    case ChildStep::kGid:
      return "setresgid";
    case ChildStep::kUid:
      return "setresuid";
    case ChildStep::kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case ChildStep::kSeccomp:
      return "loading the seccomp filter";
    case ChildStep::kChdir:
      return "chdir";
    case ChildStep::kExec:
      return "execve";
  }
  return "unknown step";
}

struct ChildFailure {
  int step;
  int op;  // index into the root recipe for kRoot
  int err;
};

// Everything the init and the workload read, laid out before the clone.
struct ChildPlan {
  int error_fd = -1;    // write end of the CLOEXEC error pipe
  int sync_fd = -1;     // read end of the "go" pipe: the host attached the cgroup
  int control_fd = -1;  // child end of the control socket: Runtime API fd out, exit status out
  int netns_fd = -1;    // egress: the prepared network namespace to join (else the clone's own)
  const RawOp* ops = nullptr;
  size_t op_count = 0;
  const char* hostname = nullptr;
  size_t hostname_len = 0;
  bool runtime_api = false;
  bool lambda_api = false;
  // Workload.
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int channel_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int null_fd = -1;
  uid_t uid = 0;
  gid_t gid = 0;
  int last_cap = 40;
  rlim_t max_open_files = 1024;
  rlim_t max_file_bytes = RLIM_INFINITY;
  rlim_t max_processes = 64;
  const sock_fprog* seccomp = nullptr;
};

[[noreturn]] void childFail(int error_fd, ChildStep step, int err, int op = -1) {
  ChildFailure failure{static_cast<int>(step), op, err};
  // A short write to a pipe is atomic; nothing else can be done if it fails.
  [[maybe_unused]] ssize_t n = ::write(error_fd, &failure, sizeof failure);
  ::_exit(127);
}

int rawMount(const char* source, const char* target, const char* fstype, unsigned long flags,
             const char* data) {
  return static_cast<int>(::syscall(SYS_mount, source, target, fstype, flags, data));
}

int runOp(const RawOp& op) {
  switch (op.kind) {
    case MountOp::kMount:
      return rawMount(*op.source ? op.source : nullptr, op.target, *op.fstype ? op.fstype : nullptr,
                      op.flags, *op.data ? op.data : nullptr);
    case MountOp::kMkdir:
      return (::mkdir(op.target, op.mode) == 0 || errno == EEXIST) ? 0 : -1;
    case MountOp::kTouch: {
      int fd = ::open(op.target, O_WRONLY | O_CREAT | O_CLOEXEC, op.mode);
      if (fd < 0) return -1;
      ::close(fd);
      return 0;
    }
    case MountOp::kSymlink:
      return ::symlink(op.source, op.target);
    case MountOp::kWrite: {
      int fd = ::open(op.target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, op.mode);
      if (fd < 0) return -1;
      size_t done = 0;
      while (done < op.source_len) {
        ssize_t n = ::write(fd, op.source + done, op.source_len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          int saved = errno;
          ::close(fd);
          errno = saved;
          return -1;
        }
        done += static_cast<size_t>(n);
      }
      ::close(fd);
      return 0;
    }
    case MountOp::kPivot:
      // pivot_root onto itself (no put_old directory needed), then detach the old root, which
      // is now stacked under the new one.
      if (::chdir(op.target) != 0) return -1;
      if (::syscall(SYS_pivot_root, ".", ".") != 0) return -1;
      if (::umount2(".", MNT_DETACH) != 0) return -1;
      return ::chdir("/");
  }
  errno = EINVAL;
  return -1;
}

// Sends `fd` over the unix socket `sock` (SCM_RIGHTS) with a one-byte payload.
int sendFd(int sock, int fd) {
  char byte = 'L';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  return ::syscall(SYS_sendmsg, sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int bringUpLoopback() {
  int s = static_cast<int>(::syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s < 0) return -1;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  int rc = static_cast<int>(::syscall(SYS_ioctl, s, SIOCGIFFLAGS, &ifr));
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = static_cast<int>(::syscall(SYS_ioctl, s, SIOCSIFFLAGS, &ifr));
  }
  int saved = errno;
  ::close(s);
  errno = saved;
  return rc;
}

// A listener on 127.0.0.1:`port` of the sandbox's network namespace, for the host to accept on.
int loopbackListener(uint16_t port) {
  int s = static_cast<int>(::syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s < 0) return -1;
  int one = 1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::syscall(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::syscall(SYS_bind, s, &addr, sizeof addr) != 0 || ::syscall(SYS_listen, s, 128) != 0) {
    int saved = errno;
    ::close(s);
    errno = saved;
    return -1;
  }
  return s;
}

// The workload: lock down, then exec. Runs as a child of the init, as root until step 6.
[[noreturn]] void workloadMain(const ChildPlan& plan) {
  int error_fd = plan.error_fd;

  // 1. A new session: no controlling terminal (TIOCSTI), its own process group.
  if (::setsid() < 0) childFail(error_fd, ChildStep::kSetsid, errno);

  // 2. Default dispositions for every signal, then unblock all (the host blocked all around
  //    the clone).
  if (int e = child::resetSignals(); e != 0) childFail(error_fd, ChildStep::kSignals, e);

  // 3. fds 0-3 only: park what we keep above kParkFdBase (an inherited fd may sit on 0-4), place
  //    them, close everything else (the host's O_PATH sources, the control socket...).
  if (int e = child::placeStdFds(error_fd,
                                 {plan.channel_fd, plan.stdout_fd, plan.stderr_fd, plan.null_fd});
      e != 0)
    childFail(error_fd, ChildStep::kFds, e);

  // 4. Resource limits. The uid is this sandbox's alone, so RLIMIT_NPROC counts exactly its
  //    processes.
  if (int e = child::setLimits(plan.max_open_files, plan.max_file_bytes, plan.max_processes);
      e != 0)
    childFail(error_fd, ChildStep::kRlimits, e);

  // 5. Capabilities: empty the bounding set while we still hold CAP_SETPCAP, clear the ambient
  //    and inheritable sets (setresuid below clears only permitted and effective).
  for (int cap = 0; cap <= plan.last_cap; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      childFail(error_fd, ChildStep::kCapabilities, errno);
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    childFail(error_fd, ChildStep::kCapabilities, errno);
  __user_cap_header_struct cap_header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct cap_data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &cap_header, cap_data) != 0)
    childFail(error_fd, ChildStep::kCapabilities, errno);
  for (auto& d : cap_data) d.inheritable = 0;
  if (::syscall(SYS_capset, &cap_header, cap_data) != 0)
    childFail(error_fd, ChildStep::kCapabilities, errno);

  // 6. The sandbox's own uid/gid, no supplementary groups. setresuid away from 0 empties the
  //    permitted and effective sets.
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) childFail(error_fd, ChildStep::kGroups, errno);
  if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0)
    childFail(error_fd, ChildStep::kGid, errno);
  if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0)
    childFail(error_fd, ChildStep::kUid, errno);

  // 7. No privilege gain through exec (setuid binaries, file capabilities).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    childFail(error_fd, ChildStep::kNoNewPrivs, errno);

  // 8. The working directory, checked as the sandbox user.
  if (::chdir(kTaskRoot) != 0) childFail(error_fd, ChildStep::kChdir, errno);

  // 9. Seccomp last: from here on, only what the policy allows (execve is allowed).
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, plan.seccomp) != 0)
    childFail(error_fd, ChildStep::kSeccomp, errno);

  // 10. Run. On success the error pipe closes (CLOEXEC) with nothing written.
  ::syscall(SYS_execve, plan.path, plan.argv, plan.envp);
  childFail(error_fd, ChildStep::kExec, errno);
}

// The sandbox's pid 1. Builds the sandbox, forks the workload, and reaps until it exits.
[[noreturn]] void initMain(const ChildPlan& plan) {
  int error_fd = plan.error_fd;

  // 1. Die with the host thread. Then wait for the host's go (it attaches the cgroup first); EOF
  //    means the host died before PDEATHSIG was armed.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    childFail(error_fd, ChildStep::kDeathSignal, errno);
  char go = 0;
  ssize_t n;
  do {
    n = ::read(plan.sync_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) childFail(error_fd, ChildStep::kParentGone, n < 0 ? errno : ESRCH);
  ::close(plan.sync_fd);

  // 2. Nothing we mount propagates back to the host.
  if (rawMount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    childFail(error_fd, ChildStep::kPropagation, errno);

  // 2b. Egress: the network namespace the host prepared (eth0, address, default route) instead
  //     of the empty one the clone would have made.
  if (plan.netns_fd >= 0 && ::syscall(SYS_setns, plan.netns_fd, CLONE_NEWNET) != 0)
    childFail(error_fd, ChildStep::kNetns, errno);

  // 3. The root file system, in the recipe's order, ending with pivot_root and a read-only "/".
  for (size_t i = 0; i < plan.op_count; ++i) {
    if (runOp(plan.ops[i]) != 0) childFail(error_fd, ChildStep::kRoot, errno, static_cast<int>(i));
  }

  // 4. Identity and network: a fixed hostname, loopback up (with egress, eth0 is up already).
  if (::syscall(SYS_sethostname, plan.hostname, plan.hostname_len) != 0)
    childFail(error_fd, ChildStep::kHostname, errno);
  if (bringUpLoopback() != 0) childFail(error_fd, ChildStep::kLoopback, errno);

  // 5. The Runtime API and Lambda API listeners live in this netns (reachable from this sandbox
  //    alone); the host accepts on them. Sent in this order.
  if (plan.runtime_api) {
    int listener = loopbackListener(kRuntimeApiPort);
    if (listener < 0 || sendFd(plan.control_fd, listener) != 0)
      childFail(error_fd, ChildStep::kRuntimeApi, errno);
    ::close(listener);
  }
  if (plan.lambda_api) {
    int listener = loopbackListener(kLambdaApiPort);
    if (listener < 0 || sendFd(plan.control_fd, listener) != 0)
      childFail(error_fd, ChildStep::kLambdaApi, errno);
    ::close(listener);
  }

  // 6. The workload.
  pid_t workload = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (workload < 0) childFail(error_fd, ChildStep::kForkWorkload, errno);
  if (workload == 0) workloadMain(plan);

  // 7. Init: keep only the control socket (the host's channel and pipes must see EOF when the
  //    workload dies), reap everything, and when the workload exits report its wait status to
  //    the host and exit, which kills the rest of the namespace. Signals stay blocked: only the
  //    host's SIGKILL reaches us.
  int control = plan.control_fd;
  if (control > 0) ::syscall(SYS_close_range, 0, control - 1, 0);
  ::syscall(SYS_close_range, control + 1, ~0U, 0);
  for (;;) {
    int status = 0;
    pid_t pid = static_cast<pid_t>(::syscall(SYS_wait4, -1, &status, __WALL, nullptr));
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) ::_exit(0);  // ECHILD: cannot happen before the workload was reaped
    if (pid == workload) {
      [[maybe_unused]] ssize_t w = ::write(control, &status, sizeof status);
      ::_exit(0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The host side.

// /tmp is a tmpfs whose pages are charged to the memory cgroup: with a memory limit, a /tmp
// larger than half of it would end in an OOM kill instead of ENOSPC.
uint64_t tmpBytesFor(const Limits& limits, bool with_cgroups) {
  uint64_t bytes = limits.tmp_bytes;
  if (with_cgroups && limits.memory_mb > 0)
    bytes = std::min<uint64_t>(bytes, (static_cast<uint64_t>(limits.memory_mb) << 20) / 2);
  // tmpfs reads size=0 as "unlimited".
  return std::max<uint64_t>(bytes, 1 << 20);
}

// Inodes of /tmp are bounded too: each costs kernel memory charged to the cgroup, and without a
// bound a flood of empty files ends in an OOM kill rather than ENOSPC.
uint64_t tmpInodesFor(uint64_t tmp_bytes) { return std::max<uint64_t>(tmp_bytes / 8192, 1024); }

// Hands out the per-sandbox uids. Shared by the sandbox and its processes, which give their
// slot back when they die.
class UidPool {
 public:
  explicit UidPool(int slots) : used_(static_cast<size_t>(slots), false) {}

  std::optional<int> acquire() {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < used_.size(); ++i) {
      size_t slot = (next_ + i) % used_.size();
      if (!used_[slot]) {
        used_[slot] = true;
        // Rotate, so a just-freed uid is not reused at once.
        next_ = slot + 1;
        return static_cast<int>(slot);
      }
    }
    return std::nullopt;
  }
  void release(int slot) {
    std::lock_guard lock(mu_);
    used_[static_cast<size_t>(slot)] = false;
  }

 private:
  std::mutex mu_;
  std::vector<bool> used_;  // guarded by mu_
  size_t next_ = 0;         // guarded by mu_
};

// A uid slot, given back on destruction.
class UidLease {
 public:
  UidLease(std::shared_ptr<UidPool> pool, int slot) : pool_(std::move(pool)), slot_(slot) {}
  UidLease(UidLease&& other) noexcept
      : pool_(std::move(other.pool_)), slot_(std::exchange(other.slot_, -1)) {}
  UidLease(const UidLease&) = delete;
  UidLease& operator=(const UidLease&) = delete;
  ~UidLease() {
    if (pool_ && slot_ >= 0) pool_->release(slot_);
  }
  int slot() const { return slot_; }

 private:
  std::shared_ptr<UidPool> pool_;
  int slot_;
};

class NamespaceProcess final : public Process {
 public:
  NamespaceProcess(pid_t pid, UniqueFd pidfd, UniqueFd channel, UniqueFd out, UniqueFd err,
                   UniqueFd control, UniqueFd runtime_api, UniqueFd lambda_api,
                   std::unique_ptr<Cgroup> cgroup, UidLease uid, std::optional<EgressLease> egress,
                   bool code_attached, uint64_t tmp_bytes, bool with_cgroups)
      : code_attached_(code_attached),
        tmp_bytes_(tmp_bytes),
        with_cgroups_(with_cgroups),
        pid_(pid),
        pidfd_(std::move(pidfd)),
        channel_(std::move(channel)),
        stdout_(std::move(out)),
        stderr_(std::move(err)),
        control_(std::move(control)),
        runtime_api_(std::move(runtime_api)),
        lambda_api_(std::move(lambda_api)),
        cgroup_(std::move(cgroup)),
        uid_(std::move(uid)),
        egress_(std::move(egress)) {}

  ~NamespaceProcess() override {
    kill();
    // The init's exit waits until every process of its pid namespace is gone, so once it is
    // reaped no process of this sandbox's uid is left and the slot can be reused.
    siginfo_t info{};
    while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) < 0 &&
           errno == EINTR) {
    }
    if (cgroup_) cgroup_->killAll();
    cgroup_.reset();  // removes the group
  }

  pid_t pid() const override { return pid_; }
  int channelFd() const override { return channel_.get(); }
  int stdoutFd() const override { return stdout_.get(); }
  int stderrFd() const override { return stderr_.get(); }
  int runtimeApiListenFd() const override { return runtime_api_.get(); }
  int lambdaApiListenFd() const override { return lambda_api_.get(); }
  std::string lambdaApiEndpoint() const override {
    return lambda_api_ ? fmt::format("http://127.0.0.1:{}", kLambdaApiPort) : std::string();
  }

  void kill() override {
    if (killed_.exchange(true)) return;
    // SIGKILL to the init kills the whole pid namespace.
    if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0) != 0 && errno != ESRCH)
      spdlog::warn("cannot kill sandbox init {}: {}", pid_, std::strerror(errno));
  }

  std::optional<int> exitStatus() override {
    if (status_) return status_;
    siginfo_t info{};
    // WNOWAIT: observe without reaping, so the pid cannot be recycled before the destructor.
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
      return std::nullopt;
    if (info.si_pid == 0) return std::nullopt;
    // The init wrote the workload's status before exiting; without it (the init was killed),
    // the init's own status says how the sandbox ended.
    int workload_status = 0;
    ssize_t n = ::recv(control_.get(), &workload_status, sizeof workload_status, MSG_DONTWAIT);
    status_ = n == static_cast<ssize_t>(sizeof workload_status) ? workload_status
                                                                : waitStatusFromSiginfo(info);
    return status_;
  }

  std::optional<int> waitExit(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto status = exitStatus()) return status;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{pidfd_.get(), POLLIN, 0};
      int rc = ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
      if (rc < 0 && errno != EINTR) return exitStatus();
    }
  }

  // The mount is made from the host into the init's mount namespace (the init is pid 1 of the
  // sandbox and shares the workload's mount namespace), on the task root's empty directory.
  Status attachCode(const fs::path& code_dir, const Limits& limits) override {
    if (code_attached_)
      return Error::invalid("this sandbox already has its code; attachCode() is called once");
    struct stat st {};
    if (!code_dir.is_absolute() || ::stat(code_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Error::invalid(
          fmt::format("the code dir {} is not an existing absolute directory", code_dir.string()));
    code_attached_ = true;
    GUST_TRY(bindReadOnlyInto(pidfd_.get(), code_dir, kTaskRoot));
    if (cgroup_) {
      CgroupLimits cg;
      cg.memory_mb = limits.memory_mb;
      cg.max_processes = limits.max_processes + 1;  // + the init
      GUST_TRY(cgroup_->update(cg));
    }
    uint64_t tmp_bytes = tmpBytesFor(limits, with_cgroups_);
    if (tmp_bytes != tmp_bytes_) {
      GUST_TRY(resizeTmpfsIn(pidfd_.get(), kTmp, tmp_bytes, tmpInodesFor(tmp_bytes)));
      tmp_bytes_ = tmp_bytes;
    }
    return okStatus();
  }

  bool oomKilled() override { return cgroup_ && cgroup_->oomKilled(); }
  uint64_t peakMemoryBytes() override { return cgroup_ ? cgroup_->peakMemoryBytes() : 0; }

 private:
  bool code_attached_;
  uint64_t tmp_bytes_;  // the current size of /tmp
  bool with_cgroups_;
  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd channel_;
  UniqueFd stdout_;
  UniqueFd stderr_;
  UniqueFd control_;
  UniqueFd runtime_api_;
  UniqueFd lambda_api_;
  std::unique_ptr<Cgroup> cgroup_;
  // Freed with the members, after the destructor body reaped every process of the sandbox and
  // removed its cgroup: no process of this uid is left when the slot is reused.
  UidLease uid_;
  // Freed after the reap too: deletes the veth pair, so its addresses are free for the next.
  std::optional<EgressLease> egress_;
  std::optional<int> status_;
  std::atomic<bool> killed_{false};
};

class CStringArray {
 public:
  explicit CStringArray(const std::vector<std::string>& strings) {
    ptrs_.reserve(strings.size() + 1);
    for (const auto& s : strings) ptrs_.push_back(const_cast<char*>(s.c_str()));
    ptrs_.push_back(nullptr);
  }
  char* const* get() const { return ptrs_.data(); }

 private:
  std::vector<char*> ptrs_;
};

// The kernel's struct clone_args (Linux 5.7 layout), declared here because <linux/sched.h>
// clashes with <sched.h>.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};

// A host path the sandbox mirrors, and what it is (probed once at start).
struct HostEntry {
  std::string host_path;
  std::string sandbox_path;
  enum Kind { kDir, kFile, kSymlink } kind;
  std::string link;  // kSymlink: its contents
};

Result<std::optional<HostEntry>> probeHost(const std::string& host_path,
                                           const std::string& sandbox_path) {
  struct stat st {};
  if (::lstat(host_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<HostEntry>();
    return Error::fromErrno("cannot stat " + host_path, errno);
  }
  HostEntry e{host_path, sandbox_path, HostEntry::kDir, ""};
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    e.kind = HostEntry::kSymlink;
    e.link = fs::read_symlink(host_path, ec).string();
    if (ec) return Error::unavailable("cannot read the symlink " + host_path + ": " + ec.message());
    return std::optional<HostEntry>(std::move(e));
  }
  e.kind = S_ISDIR(st.st_mode) ? HostEntry::kDir : HostEntry::kFile;
  return std::optional<HostEntry>(std::move(e));
}

class NamespaceSandbox final : public Sandbox {
 public:
  NamespaceSandbox(NamespaceSandboxOptions options, std::unique_ptr<SeccompProgram> seccomp,
                   std::vector<HostEntry> host_entries, std::vector<HostEntry> devices,
                   std::string build_base)
      : options_(std::move(options)),
        seccomp_(std::move(seccomp)),
        host_entries_(std::move(host_entries)),
        devices_(std::move(devices)),
        build_base_(std::move(build_base)),
        uids_(std::make_shared<UidPool>(options_.uid_slots)),
        last_cap_(lastCapability()) {}

  ~NamespaceSandbox() override {
    // Empty: every mount on it lived in a sandbox's own mount namespace.
    if (::rmdir(build_base_.c_str()) != 0)
      spdlog::warn("cannot remove {}: {}", build_base_, std::strerror(errno));
  }

  Layout layout(const SpawnSpec&) const override { return Layout{kTaskRoot, kRuntimeRoot, kTmp}; }
  bool canAttachCode() const override { return true; }

  Result<std::unique_ptr<Process>> spawn(const SpawnSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
      return Error::invalid("sandbox spawn: argv[0] must be an absolute path");
    // 0. Egress: a prepared network namespace (from the pool when it has one).
    std::optional<EgressLease> egress;
    if (spec.network == Network::kEgress) {
      if (options_.egress == nullptr) return Error::unavailable(options_.egress_unavailable);
      auto lease = options_.egress->take();
      if (!lease)
        return Error{lease.error().code,
                     "cannot give the sandbox network egress: " + lease.error().message};
      egress = std::move(*lease);
    }

    // 1. Identity and cgroup.
    auto slot = uids_->acquire();
    if (!slot)
      return Error{ErrorCode::kResourceExhausted,
                   fmt::format("all {} sandbox uids are in use; raise the uid range or stop "
                               "instances",
                               options_.uid_slots)};
    UidLease lease(uids_, *slot);
    uid_t uid = options_.first_uid + static_cast<uid_t>(*slot);
    gid_t gid = static_cast<gid_t>(uid);
    std::unique_ptr<Cgroup> cgroup;
    if (options_.cgroups) {
      CgroupLimits limits;
      limits.memory_mb = spec.limits.memory_mb;
      limits.max_processes = spec.limits.max_processes + 1;  // + the init
      auto created = options_.cgroups->create(
          fmt::format("sbx-{}-{}-{}", run_tag_, uid, spawn_seq_.fetch_add(1)), limits);
      if (!created) return created.error();
      cgroup = std::move(*created);
    }

    // 2. The root file system recipe. Per-sandbox sources are opened here; the host's shared
    //    ones (/usr, /etc entries, devices) were opened once at start.
    bool code_attached = !spec.code_dir.empty();
    for (const auto& [dir, what] :
         {std::pair{&spec.code_dir, "code"}, {&spec.runtime_dir, "runtime"}}) {
      if (dir->empty() && dir == &spec.code_dir) continue;  // attached later
      struct stat st {};
      if (!dir->is_absolute() || ::stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return Error::invalid(fmt::format("the {} dir {} is not an existing absolute directory",
                                          what, dir->string()));
    }
    uint64_t tmp_bytes = tmpBytesFor(spec.limits, options_.cgroups != nullptr);
    RootRecipe recipe =
        buildRecipe(spec.code_dir.string(), spec.runtime_dir.string(), uid, gid, tmp_bytes,
                    egress ? options_.egress->resolvConf() : std::string());
    std::vector<RawOp> raw_ops;
    raw_ops.reserve(recipe.ops().size());
    for (const auto& op : recipe.ops())
      raw_ops.push_back(RawOp{op.kind, op.target.c_str(), op.source.c_str(), op.source.size(),
                              op.fstype.c_str(), op.flags, op.data.c_str(), op.mode});

    // 3. The environment: the spec's, with the sandbox's TMPDIR and Runtime API address.
    std::vector<std::string> env;
    env.reserve(spec.env.size() + 2);
    for (const auto& kv : spec.env)
      if (!kv.starts_with("TMPDIR=") && !kv.starts_with("AWS_LAMBDA_RUNTIME_API=") &&
          !kv.starts_with("AWS_ENDPOINT_URL_LAMBDA="))
        env.push_back(kv);
    env.push_back(fmt::format("TMPDIR={}", kTmp));
    if (spec.runtime_api)
      env.push_back(fmt::format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{}", kRuntimeApiPort));
    if (spec.lambda_api)
      env.push_back(fmt::format("AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:{}", kLambdaApiPort));

    // 4. fds.
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      return Error::fromErrno("cannot create the instance channel (socketpair)", errno);
    UniqueFd channel_host(pair[0]), channel_child(pair[1]);
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      return Error::fromErrno("cannot create the sandbox control socket", errno);
    UniqueFd control_host(pair[0]), control_child(pair[1]);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno("cannot create the stdout pipe", errno);
    UniqueFd out_read(p[0]), out_write(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno("cannot create the stderr pipe", errno);
    UniqueFd err_read(p[0]), err_write(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0)
      return Error::fromErrno("cannot create the spawn error pipe", errno);
    UniqueFd error_read(p[0]), error_write(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0)
      return Error::fromErrno("cannot create the spawn sync pipe", errno);
    UniqueFd sync_read(p[0]), sync_write(p[1]);
    UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_fd) return Error::fromErrno("cannot open /dev/null", errno);
    for (int fd : {out_read.get(), err_read.get()}) {
      if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
        return Error::fromErrno("cannot make an output pipe non-blocking", errno);
    }

    CStringArray argv(spec.argv);
    CStringArray envp(env);
    ChildPlan plan;
    plan.error_fd = error_write.get();
    plan.sync_fd = sync_read.get();
    plan.control_fd = control_child.get();
    plan.netns_fd = egress ? egress->netnsFd() : -1;
    plan.ops = raw_ops.data();
    plan.op_count = raw_ops.size();
    plan.hostname = options_.hostname.c_str();
    plan.hostname_len = options_.hostname.size();
    plan.runtime_api = spec.runtime_api;
    plan.lambda_api = spec.lambda_api;
    plan.path = spec.argv[0].c_str();
    plan.argv = argv.get();
    plan.envp = envp.get();
    plan.channel_fd = channel_child.get();
    plan.stdout_fd = out_write.get();
    plan.stderr_fd = err_write.get();
    plan.null_fd = null_fd.get();
    plan.uid = uid;
    plan.gid = gid;
    plan.last_cap = last_cap_;
    plan.max_open_files = static_cast<rlim_t>(spec.limits.max_open_files);
    // RLIMIT_FSIZE is a backstop just above the /tmp size, so filling /tmp ends in ENOSPC (as a
    // disk would) rather than in SIGXFSZ.
    // Code attached later: the function's /tmp may be up to the largest size.
    plan.max_file_bytes =
        static_cast<rlim_t>((code_attached ? tmp_bytes : kMaxTmpBytes) + (1 << 20));
    plan.max_processes = static_cast<rlim_t>(spec.limits.max_processes);
    plan.seccomp = seccomp_->prog();

    // 5. Clone the init into new namespaces (and, on cgroup v2, straight into its group). All
    //    signals stay blocked across the clone so no handler of the server runs in the child.
    int pidfd = -1;
    CloneArgs args{};
    // With egress the init joins its prepared network namespace instead of making an empty one.
    args.flags =
        (egress ? kNamespaceFlags & ~uint64_t{CLONE_NEWNET} : kNamespaceFlags) | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    int cgroup_fd = cgroup ? cgroup->cloneIntoFd() : -1;
    if (cgroup_fd >= 0) {
      args.flags |= kCloneIntoCgroup;
      args.cgroup = static_cast<uint64_t>(cgroup_fd);
    }
    sigset_t all, saved;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    auto started = std::chrono::steady_clock::now();
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
    if (pid == 0) initMain(plan);
    int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0)
      return Error{ErrorCode::kUnavailable,
                   fmt::format("cannot clone a sandbox: {} (not root? too many processes?)",
                               std::strerror(clone_errno))};
    UniqueFd pidfd_owner(pidfd);
    // Until the Process owns it, a failure kills and reaps the init.
    Defer reap([&] {
      ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
      siginfo_t info{};
      while (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED) < 0 && errno == EINTR) {
      }
    });

    // The host keeps only its ends; the error pipe reaches EOF at the workload's exec.
    channel_child.reset();
    control_child.reset();
    out_write.reset();
    err_write.reset();
    error_write.reset();
    sync_read.reset();
    null_fd.reset();

    // 6. cgroup v1 (no CLONE_INTO_CGROUP): move the init in before it may fork.
    if (cgroup && cgroup_fd < 0) {
      if (auto st = cgroup->attach(pid); !st)
        return Error::unavailable("cannot move the sandbox into its cgroup: " + st.error().message);
    }
    char go = 'g';
    if (::write(sync_write.get(), &go, 1) != 1)
      return Error::fromErrno("cannot start the sandbox init", errno);
    sync_write.reset();

    // 7. Wait for the workload's exec (EOF) or a failure report.
    ChildFailure failure{};
    ssize_t n;
    do {
      n = ::read(error_read.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n != 0) return describeFailure(n, failure, recipe, spec);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
    spdlog::debug("sandbox uid {}: clone to exec of {} in {} us", uid, spec.argv[0], micros);

    // 8. The Runtime API and Lambda API listeners, sent by the init before it forked the
    //    workload.
    UniqueFd runtime_api, lambda_api;
    if (spec.runtime_api) {
      GUST_ASSIGN_OR_RETURN(runtime_api, receiveFd(control_host.get(), "Runtime API"));
      if (::fcntl(runtime_api.get(), F_SETFL, O_NONBLOCK) != 0)
        return Error::fromErrno("cannot make the Runtime API listener non-blocking", errno);
    }
    if (spec.lambda_api) {
      GUST_ASSIGN_OR_RETURN(lambda_api, receiveFd(control_host.get(), "Lambda API"));
    }

    reap.cancel();  // the Process owns the init now
    return std::unique_ptr<Process>(new NamespaceProcess(
        pid, std::move(pidfd_owner), std::move(channel_host), std::move(out_read),
        std::move(err_read), std::move(control_host), std::move(runtime_api), std::move(lambda_api),
        std::move(cgroup), std::move(lease), std::move(egress), code_attached, tmp_bytes,
        options_.cgroups != nullptr));
  }

 private:
  // The root, top to bottom. Targets are relative to the build base until the pivot.
  // `resolv_conf`: the sandbox's /etc/resolv.conf (empty without egress: no resolver).
  RootRecipe buildRecipe(const std::string& code_dir, const std::string& runtime_dir, uid_t uid,
                         gid_t gid, uint64_t tmp_bytes, std::string resolv_conf) const {
    RootRecipe r(build_base_);
    r.tmpfs("/", MS_NOSUID | MS_NODEV, "size=1m,mode=0755");
    // The host's programs and libraries, read-only: /usr plus the merged-usr links (or dirs).
    // Then the few /etc entries runtimes read (CA certificates, alternatives, the linker cache).
    r.mkdir("/etc");
    for (const auto& e : host_entries_) {
      switch (e.kind) {
        case HostEntry::kSymlink:
          r.symlink(e.sandbox_path, e.link);
          break;
        case HostEntry::kDir:
        case HostEntry::kFile:
          r.bindReadOnly(e.host_path, e.sandbox_path, e.kind == HostEntry::kDir);
          break;
      }
    }
    r.write("/etc/passwd",
            fmt::format("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                        "sbx_user:x:{}:{}:sandbox user:/tmp:/usr/sbin/nologin\n"
                        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                        uid, gid));
    r.write("/etc/group", fmt::format("root:x:0:\nsbx_user:x:{}:\nnogroup:x:65534:\n", gid));
    r.write("/etc/hosts",
            fmt::format("127.0.0.1\tlocalhost {}\n::1\tlocalhost\n", options_.hostname));
    r.write("/etc/hostname", options_.hostname + "\n");
    r.write("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n");
    r.write("/etc/resolv.conf", std::move(resolv_conf));
    // The function's code and the runtime: read-only, exec allowed (custom runtimes run
    // /var/task/bootstrap).
    r.mkdir("/var");
    if (code_dir.empty())
      r.mkdir(kTaskRoot);  // a mount point for Process::attachCode
    else
      r.bindReadOnly(code_dir, kTaskRoot, true);
    r.bindReadOnly(runtime_dir, kRuntimeRoot, true);
    // Private scratch space.
    r.mkdir(kTmp, 01777);
    r.tmpfs(kTmp, MS_NOSUID | MS_NODEV,
            fmt::format("size={},nr_inodes={},mode=1777", tmp_bytes, tmpInodesFor(tmp_bytes)));
    // A minimal /dev: the four harmless devices, the fd links, a small /dev/shm; then read-only.
    r.mkdir("/dev");
    r.tmpfs("/dev", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755");
    for (const auto& d : devices_) r.bindDevice(d.host_path, d.sandbox_path);
    r.symlink("/dev/fd", "/proc/self/fd");
    r.symlink("/dev/stdin", "/proc/self/fd/0");
    r.symlink("/dev/stdout", "/proc/self/fd/1");
    r.symlink("/dev/stderr", "/proc/self/fd/2");
    r.mkdir("/dev/shm", 01777);
    r.tmpfs("/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            fmt::format("size={},mode=1777", std::min<uint64_t>(tmp_bytes, 16ull << 20)));
    r.mount("/dev", "", "", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "",
            "remount /dev read-only");
    // A fresh /proc of the new pid namespace; other users' processes (the init) are invisible.
    r.mkdir("/proc");
    r.mount("/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible",
            "mount proc on /proc");
    r.pivotAndSeal();
    return r;
  }

  static Result<UniqueFd> receiveFd(int sock, std::string_view what) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
      n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    cmsghdr* cmsg = n == 1 ? CMSG_FIRSTHDR(&msg) : nullptr;
    if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
      return Error::internal(fmt::format("the sandbox init did not send the {} listener", what));
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return UniqueFd(fd);
  }

  Error describeFailure(ssize_t n, const ChildFailure& failure, const RootRecipe& recipe,
                        const SpawnSpec& spec) const {
    if (n != static_cast<ssize_t>(sizeof failure))
      return Error::internal(
          fmt::format("cannot start {}: the sandbox failed before exec", spec.argv[0]));
    auto step = static_cast<ChildStep>(failure.step);
    const char* err = std::strerror(failure.err);
    switch (step) {
      case ChildStep::kExec:
        return Error::unavailable(fmt::format(
            "cannot start {}: {}; check that it exists inside the sandbox (under /usr, {} or {}) "
            "and is executable",
            spec.argv[0], err, kTaskRoot, kRuntimeRoot));
      case ChildStep::kChdir:
        return Error::unavailable(fmt::format(
            "cannot start {}: cannot enter {} ({}): {}; the code directory must be readable and "
            "searchable by other users",
            spec.argv[0], kTaskRoot, spec.code_dir.string(), err));
      case ChildStep::kRoot: {
        const auto& ops = recipe.ops();
        std::string what = failure.op >= 0 && static_cast<size_t>(failure.op) < ops.size()
                               ? ops[static_cast<size_t>(failure.op)].what
                               : std::string("an unknown step");
        return Error::unavailable(
            fmt::format("cannot build the sandbox root: {} failed: {}", what, err));
      }
      default:
        return Error::unavailable(
            fmt::format("cannot start {}: {} failed: {}", spec.argv[0], stepName(step), err));
    }
  }

  NamespaceSandboxOptions options_;
  std::unique_ptr<SeccompProgram> seccomp_;
  std::vector<HostEntry> host_entries_;  // what the root shows of the host
  std::vector<HostEntry> devices_;       // /dev/null, zero, random, urandom
  // An empty host directory on which each init mounts its root tmpfs, in its own mount
  // namespace: the host's directory stays empty and no source path is ever shadowed.
  std::string build_base_;
  std::shared_ptr<UidPool> uids_;
  int last_cap_;
  std::atomic<uint64_t> spawn_seq_{0};
  // In every group name: a restarted server (which starts sandboxes at once, for its pool of
  // pre-started instances) never reuses the name of a group its predecessor left behind.
  const std::string run_tag_ = randomHex(4);
};

}  // namespace

Result<std::unique_ptr<Sandbox>> makeNamespaceSandbox(NamespaceSandboxOptions options) {
  if (::geteuid() != 0)
    return Error::unavailable(
        "the namespace sandbox needs root (it creates namespaces and mounts); run gust serve as "
        "root, or use --sandbox process for development only");
  if (options.uid_slots <= 0 || options.first_uid == 0)
    return Error::invalid("the sandbox uid range must be non-empty and must not start at 0");
  auto seccomp = compileSeccompPolicy(defaultSeccompPolicy());
  if (!seccomp)
    return Error::unavailable("cannot compile the seccomp policy: " + seccomp.error().message);

  // What the sandbox shows of the host, opened once. /usr must exist; the rest is mirrored when
  // present: the merged-usr links (or real dirs on older layouts) and the /etc entries that
  // runtimes read.
  std::vector<HostEntry> entries;
  for (const char* name : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                           "/etc/ssl", "/etc/ca-certificates", "/etc/alternatives",
                           "/etc/ld.so.cache", "/etc/localtime", "/etc/mime.types"}) {
    GUST_ASSIGN_OR_RETURN(auto entry, probeHost(name, name));
    if (!entry) {
      if (std::string_view(name) == "/usr")
        return Error::unavailable("the host has no /usr; the sandbox needs one");
      continue;
    }
    entries.push_back(std::move(*entry));
  }
  std::vector<HostEntry> devices;
  for (const char* name : {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"}) {
    GUST_ASSIGN_OR_RETURN(auto entry, probeHost(name, name));
    if (!entry || entry->kind != HostEntry::kFile)
      return Error::unavailable(fmt::format("the host's {} is missing or not a device", name));
    devices.push_back(std::move(*entry));
  }
  std::string base = (options.scratch_root / "gust-sandbox-root-XXXXXX").string();
  if (::mkdtemp(base.data()) == nullptr)
    return Error::fromErrno(fmt::format("cannot create the sandbox root mount point under {}; "
                                        "choose a writable scratch dir",
                                        options.scratch_root.string()),
                            errno);
  return std::unique_ptr<Sandbox>(
      std::make_unique<NamespaceSandbox>(std::move(options), std::move(*seccomp),
                                         std::move(entries), std::move(devices), std::move(base)));
}

}  // namespace gust::sandbox
