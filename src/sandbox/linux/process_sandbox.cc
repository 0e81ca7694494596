// The walking-skeleton sandbox: fork+exec with a rebuilt process state. The child's recipe is
// childMain(), read top to bottom; everything it needs (argv/env arrays, paths, fds, limits) is
// prepared before fork, because between fork and exec only async-signal-safe raw syscalls run
// (the server is multi-threaded, and ASan's allocator must not be entered in the child).
#include "sandbox/linux/process_sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/defer.h"
#include "common/files.h"
#include "sandbox/linux/child_steps.h"

namespace gust::sandbox {
namespace {

// The steps of the child's recipe, reported with errno over the error pipe when one fails.
enum class ChildStep : int {
  kSetsid = 1,
  kDeathSignal,
  kParentGone,
  kSignals,
  kFds,
  kRlimits,
  kCapabilities,
  kGroups,
  kGid,
  kUid,
  kNoNewPrivs,
  kChdir,
  kExec,
};

const char* stepName(ChildStep step) {
  switch (step) {
    case ChildStep::kSetsid:
      return "setsid";
    case ChildStep::kDeathSignal:
      return "prctl(PR_SET_PDEATHSIG)";
    case ChildStep::kParentGone:
      return "parent check";
    case ChildStep::kSignals:
      return "signal reset";
    case ChildStep::kFds:
      return "fd setup";
    case ChildStep::kRlimits:
      return "setrlimit";
    case ChildStep::kCapabilities:
      return "capability bounding set drop";
    case ChildStep::kGroups:
      return "setgroups";
    case ChildStep::kGid:
      return "setresgid";
    case ChildStep::kUid:
      return "setresuid";
    case ChildStep::kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case ChildStep::kChdir:
      return "chdir";
    case ChildStep::kExec:
      return "execve";
  }
  return "unknown step";
}

struct ChildFailure {
  int step;
  int err;
};

// Everything the child reads, laid out before fork so the child never allocates.
struct ChildPlan {
  pid_t parent_pid = 0;
  const char* path = nullptr;  // argv[0]
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* workdir = nullptr;
  int channel_fd = -1;  // child end of the socketpair -> fd 3
  int stdout_fd = -1;   // write end of the stdout pipe -> fd 1
  int stderr_fd = -1;   // write end of the stderr pipe -> fd 2
  int null_fd = -1;     // /dev/null -> fd 0
  int error_fd = -1;    // write end of the CLOEXEC error pipe
  bool drop_privileges = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int last_cap = 40;
  rlim_t max_open_files = 1024;
  rlim_t max_file_bytes = RLIM_INFINITY;
};

[[noreturn]] void childFail(int error_fd, ChildStep step, int err) {
  ChildFailure failure{static_cast<int>(step), err};
  // A short write to a pipe of this size is atomic; nothing else can be done if it fails.
  [[maybe_unused]] ssize_t n = ::write(error_fd, &failure, sizeof failure);
  ::_exit(127);
}

// The child's recipe. Only raw syscalls: no allocation, no locks, no libc state.
[[noreturn]] void childMain(const ChildPlan& plan) {
  int error_fd = plan.error_fd;

  // 1. Own session and process group, so the whole instance can be killed as -pgid.
  if (::setsid() < 0) childFail(error_fd, ChildStep::kSetsid, errno);

  // 2. Die with the server. PDEATHSIG is tied to the forking thread; the engine spawns from
  //    long-lived worker threads. If the parent already died, the signal was missed: bail.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    childFail(error_fd, ChildStep::kDeathSignal, errno);
  if (::getppid() != plan.parent_pid) childFail(error_fd, ChildStep::kParentGone, ESRCH);

  // 3. Default dispositions for every signal (ignored ones survive exec), then unblock all
  //    (the parent blocked everything around fork).
  if (int e = child::resetSignals(); e != 0) childFail(error_fd, ChildStep::kSignals, e);

  // 4. fds: park every fd we keep above kParkFdBase (an inherited fd may sit on 0-4), then place
  //    them. dup2 clears CLOEXEC on the targets; everything from 5 up is closed.
  if (int e = child::placeStdFds(error_fd,
                                 {plan.channel_fd, plan.stdout_fd, plan.stderr_fd, plan.null_fd});
      e != 0)
    childFail(error_fd, ChildStep::kFds, e);

  // 5. Resource limits. RLIMIT_NPROC is deliberately not set: it counts every process of the
  //    real uid, which all instances share (nobody), so no per-instance value would be right;
  //    pids.max of the instance's cgroup is the real limit (full sandbox recipe).
  if (int e = child::setLimits(plan.max_open_files, plan.max_file_bytes, 0); e != 0)
    childFail(error_fd, ChildStep::kRlimits, e);

  // 6. Privileges (root only): empty the bounding set while we still hold CAP_SETPCAP, then
  //    become the unprivileged uid/gid; setresuid away from 0 clears the permitted, effective
  //    and ambient sets.
  if (plan.drop_privileges) {
    for (int cap = 0; cap <= plan.last_cap; ++cap) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
        childFail(error_fd, ChildStep::kCapabilities, errno);
    }
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) childFail(error_fd, ChildStep::kGroups, errno);
    if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0)
      childFail(error_fd, ChildStep::kGid, errno);
    if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0)
      childFail(error_fd, ChildStep::kUid, errno);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    childFail(error_fd, ChildStep::kNoNewPrivs, errno);

  // 7. The working directory, checked as the unprivileged user.
  if (::chdir(plan.workdir) != 0) childFail(error_fd, ChildStep::kChdir, errno);

  // 8. Run. On success the error pipe closes (CLOEXEC) with nothing written.
  ::syscall(SYS_execve, plan.path, plan.argv, plan.envp);
  childFail(error_fd, ChildStep::kExec, errno);
}

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port (non-blocking, close-on-exec),
// and that port. `what` names it in errors ("Runtime API").
Result<std::pair<UniqueFd, uint16_t>> listenOnLoopback(std::string_view what) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd)
    return Error::fromErrno(fmt::format("cannot create the {} listener (socket)", what), errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Error::fromErrno(
        fmt::format("cannot bind the {} listener to 127.0.0.1 (is loopback up?)", what), errno);
  if (::listen(fd.get(), 16) != 0)
    return Error::fromErrno(fmt::format("cannot listen on the {} socket", what), errno);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    return Error::fromErrno(fmt::format("cannot read the {} listener's port", what), errno);
  return std::pair<UniqueFd, uint16_t>(std::move(fd), ntohs(bound.sin_port));
}

class LinuxProcess final : public Process {
 public:
  LinuxProcess(pid_t pid, UniqueFd pidfd, UniqueFd channel, UniqueFd out, UniqueFd err,
               std::filesystem::path scratch_dir, UniqueFd runtime_api_listener,
               UniqueFd lambda_api_listener, uint16_t lambda_api_port)
      : pid_(pid),
        pidfd_(std::move(pidfd)),
        channel_(std::move(channel)),
        stdout_(std::move(out)),
        stderr_(std::move(err)),
        runtime_api_listener_(std::move(runtime_api_listener)),
        lambda_api_listener_(std::move(lambda_api_listener)),
        lambda_api_port_(lambda_api_port),
        scratch_dir_(std::move(scratch_dir)) {}

  ~LinuxProcess() override {
    kill();
    // The leader was SIGKILLed: this wait is short. Until here the leader was never reaped
    // (exitStatus uses WNOWAIT), so its pid, and with it our process group id, stayed reserved.
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir_, ec);
    if (ec)
      spdlog::warn("cannot remove instance scratch dir {}: {}", scratch_dir_.string(),
                   ec.message());
  }

  pid_t pid() const override { return pid_; }
  int channelFd() const override { return channel_.get(); }
  int stdoutFd() const override { return stdout_.get(); }
  int stderrFd() const override { return stderr_.get(); }
  int runtimeApiListenFd() const override {
    return runtime_api_listener_ ? runtime_api_listener_.get() : -1;
  }
  int lambdaApiListenFd() const override {
    return lambda_api_listener_ ? lambda_api_listener_.get() : -1;
  }
  std::string lambdaApiEndpoint() const override {
    return lambda_api_listener_ ? fmt::format("http://127.0.0.1:{}", lambda_api_port_)
                                : std::string();
  }

  void kill() override {
    if (killed_.exchange(true)) return;
    // The whole process group: the runtime and anything it forked (unless it left the group,
    // which the cgroup of the full recipe will catch).
    if (::kill(-pid_, SIGKILL) != 0 && errno != ESRCH)
      spdlog::warn("cannot kill instance process group {}: {}", pid_, std::strerror(errno));
  }

  std::optional<int> exitStatus() override {
    siginfo_t info{};
    // WNOWAIT: observe without reaping, so the pid cannot be recycled before the destructor.
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
      return std::nullopt;
    if (info.si_pid == 0) return std::nullopt;
    return waitStatusFromSiginfo(info);
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

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd channel_;
  UniqueFd stdout_;
  UniqueFd stderr_;
  UniqueFd runtime_api_listener_;  // only with SpawnSpec::runtime_api
  UniqueFd lambda_api_listener_;   // only with SpawnSpec::lambda_api
  uint16_t lambda_api_port_ = 0;
  std::filesystem::path scratch_dir_;
  std::atomic<bool> killed_{false};
};

// Owns a C array of C strings pointing into `strings` (which must outlive it).
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

class ProcessSandbox final : public Sandbox {
 public:
  explicit ProcessSandbox(ProcessSandboxOptions options)
      : options_(std::move(options)), last_cap_(lastCapability()) {}

  Layout layout(const SpawnSpec& spec) const override {
    // No mount namespace yet: the process sees the host paths.
    return Layout{spec.code_dir, spec.runtime_dir, options_.scratch_root};
  }

  Result<std::unique_ptr<Process>> spawn(const SpawnSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
      return Error::invalid("sandbox spawn: argv[0] must be an absolute path");
    const bool root = ::geteuid() == 0;

    // Private scratch dir, the instance's TMPDIR; removed by the Process (or below on failure).
    std::string scratch_template = (options_.scratch_root / "gust-instance-XXXXXX").string();
    if (::mkdtemp(scratch_template.data()) == nullptr)
      return Error::fromErrno(fmt::format("cannot create an instance scratch dir under {} (check "
                                          "that it exists and is writable)",
                                          options_.scratch_root.string()),
                              errno);
    std::filesystem::path scratch_dir = scratch_template;
    Defer remove_scratch([&] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir, ec);
    });
    if (root && ::chown(scratch_dir.c_str(), options_.run_as_uid, options_.run_as_gid) != 0)
      return Error::fromErrno(fmt::format("cannot chown {}", scratch_dir.string()), errno);

    std::vector<std::string> env;
    env.reserve(spec.env.size() + 1);
    for (const auto& kv : spec.env)
      if (!kv.starts_with("TMPDIR=")) env.push_back(kv);
    env.push_back("TMPDIR=" + scratch_dir.string());

    // Custom runtimes reach the host's Runtime API server on loopback. Without a network
    // namespace the port is whatever the kernel picks; CLOEXEC keeps the listener out of the
    // instance.
    UniqueFd runtime_api_listener;
    if (spec.runtime_api) {
      GUST_ASSIGN_OR_RETURN(auto listener, listenOnLoopback("Runtime API"));
      runtime_api_listener = std::move(listener.first);
      std::erase_if(
          env, [](const std::string& kv) { return kv.starts_with("AWS_LAMBDA_RUNTIME_API="); });
      env.push_back(fmt::format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{}", listener.second));
    }
    // Likewise Lambda's API for the function itself; on the host's loopback any local process
    // reaches it (this sandbox isolates nothing).
    UniqueFd lambda_api_listener;
    uint16_t lambda_api_port = 0;
    if (spec.lambda_api) {
      GUST_ASSIGN_OR_RETURN(auto listener, listenOnLoopback("Lambda API"));
      lambda_api_listener = std::move(listener.first);
      lambda_api_port = listener.second;
      std::erase_if(
          env, [](const std::string& kv) { return kv.starts_with("AWS_ENDPOINT_URL_LAMBDA="); });
      env.push_back(fmt::format("AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:{}", lambda_api_port));
    }

    int channel_pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel_pair) != 0)
      return Error::fromErrno("cannot create the instance channel (socketpair)", errno);
    UniqueFd channel_host(channel_pair[0]), channel_child(channel_pair[1]);
    int out_pipe[2], err_pipe[2], error_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0)
      return Error::fromErrno("cannot create the stdout pipe", errno);
    UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0)
      return Error::fromErrno("cannot create the stderr pipe", errno);
    UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
    if (::pipe2(error_pipe, O_CLOEXEC) != 0)
      return Error::fromErrno("cannot create the spawn error pipe", errno);
    UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);
    UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_fd) return Error::fromErrno("cannot open /dev/null", errno);
    for (int fd : {out_read.get(), err_read.get()}) {
      if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
        return Error::fromErrno("cannot make an output pipe non-blocking", errno);
    }

    // Both strings and arrays outlive the fork; the child only reads them.
    std::string workdir = spec.code_dir.string();
    CStringArray argv(spec.argv);
    CStringArray envp(env);
    ChildPlan plan;
    plan.parent_pid = ::getpid();
    plan.path = spec.argv[0].c_str();
    plan.argv = argv.get();
    plan.envp = envp.get();
    plan.workdir = workdir.c_str();
    plan.channel_fd = channel_child.get();
    plan.stdout_fd = out_write.get();
    plan.stderr_fd = err_write.get();
    plan.null_fd = null_fd.get();
    plan.error_fd = error_write.get();
    plan.drop_privileges = root;
    plan.uid = options_.run_as_uid;
    plan.gid = options_.run_as_gid;
    plan.last_cap = last_cap_;
    plan.max_open_files = static_cast<rlim_t>(spec.limits.max_open_files);
    plan.max_file_bytes =
        spec.limits.tmp_bytes > 0 ? static_cast<rlim_t>(spec.limits.tmp_bytes) : RLIM_INFINITY;

    // Block all signals across fork so no handler of the server runs in the child before it
    // resets the dispositions.
    sigset_t all, saved;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = ::fork();
    if (pid == 0) childMain(plan);
    int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0)
      return Error{ErrorCode::kUnavailable,
                   fmt::format("cannot fork an instance: {} (too many processes?)",
                               std::strerror(fork_errno))};

    // The parent keeps only its ends; closing the write end lets the read below see EOF at exec.
    channel_child.reset();
    out_write.reset();
    err_write.reset();
    error_write.reset();
    null_fd.reset();

    ChildFailure failure{};
    ssize_t n;
    do {
      n = ::read(error_read.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n != 0) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (n != static_cast<ssize_t>(sizeof failure))
        return Error::internal(
            fmt::format("cannot start {}: the child failed before exec", spec.argv[0]));
      auto step = static_cast<ChildStep>(failure.step);
      if (step == ChildStep::kExec)
        return Error::unavailable(
            fmt::format("cannot start {}: {}; check that it is installed and executable{}",
                        spec.argv[0], std::strerror(failure.err),
                        root ? fmt::format(" by uid {}", options_.run_as_uid) : std::string()));
      if (step == ChildStep::kChdir)
        return Error::unavailable(fmt::format(
            "cannot start {}: cannot enter the code directory {}: {}; it must be readable{}",
            spec.argv[0], workdir, std::strerror(failure.err),
            root ? fmt::format(" by uid {}", options_.run_as_uid) : std::string()));
      return Error::unavailable(fmt::format("cannot start {}: {} failed: {}", spec.argv[0],
                                            stepName(step), std::strerror(failure.err)));
    }

    // A pidfd lets waitExit() sleep in poll instead of spinning.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    remove_scratch.cancel();  // the Process owns the scratch dir now
    return std::unique_ptr<Process>(new LinuxProcess(
        pid, std::move(pidfd), std::move(channel_host), std::move(out_read), std::move(err_read),
        std::move(scratch_dir), std::move(runtime_api_listener), std::move(lambda_api_listener),
        lambda_api_port));
  }

 private:
  ProcessSandboxOptions options_;
  int last_cap_;
};

}  // namespace

std::unique_ptr<Sandbox> makeProcessSandbox(ProcessSandboxOptions options) {
  return std::make_unique<ProcessSandbox>(std::move(options));
}

}  // namespace gust::sandbox
