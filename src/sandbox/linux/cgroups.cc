// CgroupManager for Linux: cgroup v1, v2 and the hybrid layout.
//
// Where Gust's groups live. Gust's parent group (`gust` by default) is created under the group
// our own process is in, in each hierarchy, not under the hierarchy root: on systemd machines a
// service may only write below its own (delegated) group, and under a container's cgroup
// namespace our group is the only place we can see. Our own group's limits therefore also bound
// every sandbox, which is what an operator who limited the server expects. As root on v1 the
// hierarchy root would work too, but one rule for every layout is simpler to reason about.
//
// Layout per hierarchy: <own>/<parent>/<sandbox id>. On v1 there is one such tree in each of the
// memory, pids and cpu hierarchies (they may be one mount, e.g. "cpu,cpuacct"). On v2 there is
// one tree, and the "no internal processes" rule applies: a group that enables controllers for
// its children (cgroup.subtree_control) must not hold processes itself. So <own> and
// <own>/<parent> enable +memory +pids +cpu, and if our own process (or anything else) sits in
// <own>, detect() moves it into the leaf <own>/<parent>-server first. systemd documents the same
// arrangement for units with Delegate=yes.
//
// Every sandbox group keeps open fds of the files used on fast paths (cgroup.procs per hierarchy,
// the OOM counter, the peak), so an attach is one write() per hierarchy.
#include "sandbox/linux/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/defer.h"
#include "common/files.h"
#include "common/unique_fd.h"
#include "sandbox/linux/cgroup_layout.h"
#include "sandbox/linux/cgroups_internal.h"

namespace gust::sandbox {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// How long killAll() waits for a group to empty, and rmdir for the kernel to let go of a group
// whose last task just exited. Both are normally well under a millisecond.
constexpr auto kKillTimeout = 2s;
constexpr auto kRmdirTimeout = 1s;
constexpr uint64_t kMiB = uint64_t{1} << 20;

constexpr const char* kWritableHint =
    "run gust as root or delegate a cgroup subtree to it (systemd: Delegate=yes)";

bool isPermissionError(int err) { return err == EACCES || err == EPERM || err == EROFS; }

Error writeError(const std::string& path, std::string_view value, int err) {
  if (isPermissionError(err)) {
    return Error::unavailable(fmt::format("cgroup file {} not writable ({}): {}", path,
                                          std::strerror(err), kWritableHint));
  }
  return Error::fromErrno(fmt::format("cannot write '{}' to {}", value, path), err);
}

// Writes `value` to a cgroup control file in one write(), as the kernel expects. Returns 0 or
// the errno, for callers that react to a particular one.
int writeErrno(int fd, std::string_view value) {
  for (;;) {
    if (::write(fd, value.data(), value.size()) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int writeFileErrno(const std::string& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  return writeErrno(fd.get(), value);
}

Status writeFile(const std::string& path, std::string_view value) {
  int err = writeFileErrno(path, value);
  return err == 0 ? okStatus() : writeError(path, value, err);
}

// Like writeFile, but a missing file (a feature the kernel lacks) is not an error.
Status writeFileIfPresent(const std::string& path, std::string_view value) {
  int err = writeFileErrno(path, value);
  return err == 0 || err == ENOENT ? okStatus() : writeError(path, value, err);
}

// Reads a small control file through an fd kept open: cgroup files are seq_files, which restart
// at offset 0, so a pread() gives fresh contents without reopening.
std::string preadAll(int fd) {
  std::string out;
  char buf[1024];
  for (int i = 0; i < 64; ++i) {
    ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::vector<pid_t> readPids(const std::string& dir) {
  std::vector<pid_t> out;
  auto text = readFile(dir + "/cgroup.procs");
  if (!text.ok()) return out;  // a vanished group holds no processes
  for (const std::string& word : splitWords(*text)) {
    pid_t pid = 0;
    if (std::from_chars(word.data(), word.data() + word.size(), pid).ec == std::errc{} && pid > 0)
      out.push_back(pid);
  }
  return out;
}

// Waits until every fd in `fds` polls readable with `events`, or until `deadline`.
void waitAll(std::vector<pollfd>& fds, Clock::time_point deadline) {
  while (!fds.empty()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return;
    std::erase_if(fds, [](const pollfd& p) { return p.revents != 0; });
  }
}

// Waits until the processes listed in `pids` that are still in `dir` have exited (a task leaves
// its groups before its pidfd polls readable), or until `deadline`; first SIGKILLs them unless
// `already_killed` (cgroup.kill did).
//
// No process that merely reused one of those pids is signalled or waited for: each pid is pinned
// with a pidfd first, and only used if it is still listed in the group afterwards. If the
// pidfd's process had exited and its pid gone to a newcomer of the group, the signal goes to the
// dead process (a no-op) and the newcomer is caught in the next round. Without pidfds (before
// 5.3) we fall back to kill() and a short sleep.
//
// We do not wait on cgroup.events: the kernel rate-limits its notifications to one per 20 ms
// per group, and a sandbox is usually killed within 20 ms of the attach that populated it.
void killListed(const std::string& dir, const std::vector<pid_t>& pids, bool already_killed,
                Clock::time_point deadline) {
  std::vector<UniqueFd> pinned;
  std::vector<pid_t> pinned_pids;
  for (pid_t pid : pids) {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd && errno == ENOSYS) {
      if (!already_killed) {
        for (pid_t p : pids) ::kill(p, SIGKILL);  // ESRCH: already gone
      }
      std::this_thread::sleep_for(1ms);
      return;
    }
    if (!fd) continue;  // ESRCH: already gone
    pinned.push_back(std::move(fd));
    pinned_pids.push_back(pid);
  }
  std::vector<pid_t> still = readPids(dir);
  std::vector<pollfd> waiting;
  for (size_t i = 0; i < pinned.size(); ++i) {
    if (std::find(still.begin(), still.end(), pinned_pids[i]) == still.end()) continue;
    if (already_killed ||
        ::syscall(SYS_pidfd_send_signal, pinned[i].get(), SIGKILL, nullptr, 0) == 0) {
      waiting.push_back({pinned[i].get(), POLLIN, 0});
    }
  }
  waitAll(waiting, deadline);
}

// SIGKILLs every process in `dir` (not its subgroups) until it is empty or the deadline passes.
// On v2 one write to cgroup.kill does it (5.14+), also stopping forks under way; elsewhere we
// kill the pids listed in cgroup.procs, repeating because a process may fork between the read
// and the kill.
bool killProcesses(const std::string& dir, bool has_cgroup_kill) {
  auto deadline = Clock::now() + kKillTimeout;
  for (;;) {
    std::vector<pid_t> pids = readPids(dir);
    if (pids.empty()) return true;
    if (Clock::now() >= deadline) return false;
    bool group_killed = has_cgroup_kill && writeFileErrno(dir + "/cgroup.kill", "1") == 0;
    killListed(dir, pids, group_killed, deadline);
  }
}

// rmdir, retrying briefly on EBUSY: the kernel may hold a group for a moment after its last
// task exited. ENOENT counts as success (already removed).
Status removeDir(const std::string& dir) {
  auto deadline = Clock::now() + kRmdirTimeout;
  auto pause = 50us;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return okStatus();
    if (errno != EBUSY || Clock::now() >= deadline) {
      return Error::fromErrno(fmt::format("cannot remove cgroup {}", dir), errno);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, 5ms);
  }
}

std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  Defer close_dir([d] { ::closedir(d); });
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR) continue;
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    out.emplace_back(name);
  }
  return out;
}

// Kills everything in the group `dir` and its subgroups, then removes them, deepest first.
// Depth is bounded: sandboxes cannot create groups (no delegation inside), so there is normally
// one level; the bound only protects against a pathological tree.
Status removeTree(const std::string& dir, bool has_cgroup_kill, int depth = 0) {
  if (depth > 16) return Error::internal(fmt::format("cgroup tree too deep at {}", dir));
  for (const std::string& sub : subdirectories(dir)) {
    GUST_TRY(removeTree(fmt::format("{}/{}", dir, sub), has_cgroup_kill, depth + 1));
  }
  if (!killProcesses(dir, has_cgroup_kill)) {
    return Error::internal(fmt::format(
        "processes in cgroup {} survived SIGKILL for {} ms (stuck in uninterruptible sleep?)", dir,
        std::chrono::milliseconds(kKillTimeout).count()));
  }
  return removeDir(dir);
}

// A group name: one path component that cannot collide with a control file ("memory.max"),
// hence no dots.
bool validName(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

bool hasController(const std::vector<std::string>& v, std::string_view c) {
  return std::find(v.begin(), v.end(), c) != v.end();
}

// mkdir that treats an existing directory as success.
Status ensureDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return okStatus();
  int err = errno;
  if (isPermissionError(err)) {
    return Error::unavailable(
        fmt::format("cgroup {} not writable ({}): {}", dir, std::strerror(err), kWritableHint));
  }
  return Error::fromErrno(fmt::format("cannot create cgroup {}", dir), err);
}

std::string dirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string baseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// One hierarchy Gust uses, with its parent group prepared.
struct Hierarchy {
  CgroupVersion version = CgroupVersion::kV1;
  std::string base;  // <own>/<parent>
  std::vector<std::string> controllers;
  bool has_cgroup_kill = false;  // v2 cgroup.kill (5.14+)
};

// On v2, makes `base` (= <own>/<parent>) a group whose children get `controllers`. Enabling them
// in <own>'s subtree_control fails with EBUSY while <own> holds processes (the root group is
// exempt), so those are moved to the leaf <own>/<parent>-server first.
Status prepareV2(const std::string& own, const std::string& base,
                 const std::vector<std::string>& controllers, const std::string& server_leaf) {
  if (controllers.empty()) return ensureDir(base);
  std::string enable;
  for (const std::string& c : controllers) enable += (enable.empty() ? "+" : " +") + c;

  auto enabled = [&](const std::string& dir) {
    auto text = readFile(dir + "/cgroup.subtree_control");
    if (!text.ok()) return false;
    std::vector<std::string> words = splitWords(*text);
    return std::all_of(controllers.begin(), controllers.end(),
                       [&](const std::string& c) { return hasController(words, c); });
  };

  if (!enabled(own)) {
    int err = writeFileErrno(own + "/cgroup.subtree_control", enable);
    if (err == EBUSY) {
      // Processes in <own>: move them (this server included) to the leaf, then retry. More may
      // appear while we move (a fork), hence the rounds.
      GUST_TRY(ensureDir(server_leaf));
      for (int round = 0; round < 8; ++round) {
        std::vector<pid_t> pids = readPids(own);
        if (pids.empty()) break;
        for (pid_t pid : pids) {
          // ESRCH: it exited meanwhile. Other failures show up as EBUSY in the retry below.
          (void)writeFileErrno(server_leaf + "/cgroup.procs", std::to_string(pid));
        }
      }
      err = writeFileErrno(own + "/cgroup.subtree_control", enable);
    }
    if (err != 0) {
      std::string why = err == EBUSY ? "processes remain in it, and a group whose children get "
                                       "controllers must hold none; move them to a leaf group"
                                     : kWritableHint;
      return Error::unavailable(
          fmt::format("cannot enable {} for the children of cgroup {} ({}): {}", enable, own,
                      std::strerror(err), why));
    }
  }
  GUST_TRY(ensureDir(base));
  if (!enabled(base)) GUST_TRY(writeFile(base + "/cgroup.subtree_control", enable));
  return okStatus();
}

class LinuxCgroup final : public Cgroup {
 public:
  struct Dir {
    std::string path;
    bool has_cgroup_kill = false;
    UniqueFd procs;  // cgroup.procs, write-only, for attach
    bool v2 = false;
    std::vector<std::string> controllers;  // those of this hierarchy that the group uses
  };

  LinuxCgroup(std::vector<Dir> dirs, UniqueFd clone_dir, UniqueFd oom_fd, UniqueFd peak_fd)
      : dirs_(std::move(dirs)),
        clone_dir_(std::move(clone_dir)),
        oom_fd_(std::move(oom_fd)),
        peak_fd_(std::move(peak_fd)) {}

  ~LinuxCgroup() override {
    killAll();
    for (const Dir& d : dirs_) {
      Status st = removeDir(d.path);
      if (!st.ok()) spdlog::warn("{}", st.error().message);
    }
  }

  Status attach(pid_t pid) override {
    std::string value = std::to_string(pid);
    for (const Dir& d : dirs_) {
      if (::write(d.procs.get(), value.data(), value.size()) < 0) {
        int err = errno;
        if (err == ESRCH) {
          return Error::notFound(
              fmt::format("cannot attach pid {} to cgroup {}: no such process", pid, d.path));
        }
        return writeError(d.path + "/cgroup.procs", value, err);
      }
    }
    return okStatus();
  }

  int cloneIntoFd() const override { return clone_dir_.valid() ? clone_dir_.get() : -1; }

  Status update(const CgroupLimits& limits) override {
    if (limits.memory_mb <= 0 || limits.max_processes <= 0) {
      return Error::invalid(fmt::format("invalid cgroup limits: memory {} MB, {} processes",
                                        limits.memory_mb, limits.max_processes));
    }
    for (const Dir& d : dirs_) {
      for (const std::string& c : d.controllers) {
        if (c == "memory") {
          GUST_TRY(updateMemoryLimit(d.path, d.v2, limits.memory_mb));
        } else if (c == "pids") {
          GUST_TRY(writeFile(d.path + "/pids.max", std::to_string(limits.max_processes)));
        } else if (c == "cpu") {
          GUST_TRY(d.v2 ? writeFile(d.path + "/cpu.weight",
                                    std::to_string(cpuWeightForMemory(limits.memory_mb)))
                        : writeFile(d.path + "/cpu.shares",
                                    std::to_string(cpuSharesForMemory(limits.memory_mb))));
        }
      }
    }
    return okStatus();
  }

  bool oomKilled() override {
    if (!oom_fd_) return false;
    // v2 memory.events and v1 memory.oom_control (4.13+) both count kills as "oom_kill N".
    // Older v1 kernels lack the line; we then report no kill rather than guess from failcnt,
    // which also counts reclaims that succeeded.
    return keyedValue(preadAll(oom_fd_.get()), "oom_kill") > 0;
  }

  uint64_t peakMemoryBytes() override {
    if (!peak_fd_) return 0;
    std::string text = preadAll(peak_fd_.get());
    uint64_t out = 0;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (std::from_chars(text.data(), text.data() + text.size(), out).ec != std::errc{}) return 0;
    return out;
  }

  void killAll() override {
    // Every process of the group is in each hierarchy (children inherit all of them), so
    // emptying one would do; we check every one anyway in case an attach failed half way.
    for (const Dir& d : dirs_) {
      if (!killProcesses(d.path, d.has_cgroup_kill)) {
        spdlog::warn("processes in cgroup {} survived SIGKILL for {} ms", d.path,
                     std::chrono::milliseconds(kKillTimeout).count());
      }
    }
  }

 private:
  std::vector<Dir> dirs_;
  UniqueFd clone_dir_;  // v2 only, when every controller is on the v2 hierarchy
  UniqueFd oom_fd_;     // memory.events (v2) or memory.oom_control (v1)
  UniqueFd peak_fd_;    // memory.peak (v2, 5.19+) or memory.max_usage_in_bytes (v1)

  static Status updateMemoryLimit(const std::string& dir, bool v2, int memory_mb) {
    std::string bytes = std::to_string(static_cast<uint64_t>(memory_mb) * kMiB);
    if (v2) return writeFile(dir + "/memory.max", bytes);
    // v1 requires memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment: raise
    // memsw first, lower it last.
    std::string memsw = dir + "/memory.memsw.limit_in_bytes";
    if (::access(memsw.c_str(), F_OK) != 0) return writeFile(dir + "/memory.limit_in_bytes", bytes);
    uint64_t current = 0;
    auto text = readFile(dir + "/memory.limit_in_bytes");
    if (text.ok()) (void)std::from_chars(text->data(), text->data() + text->size(), current);
    uint64_t wanted = static_cast<uint64_t>(memory_mb) * kMiB;
    if (wanted >= current) {
      GUST_TRY(writeFile(memsw, bytes));
      return writeFile(dir + "/memory.limit_in_bytes", bytes);
    }
    GUST_TRY(writeFile(dir + "/memory.limit_in_bytes", bytes));
    return writeFile(memsw, bytes);
  }
};

class LinuxCgroupManager final : public CgroupManager {
 public:
  LinuxCgroupManager(std::vector<Hierarchy> hierarchies, std::string description)
      : hierarchies_(std::move(hierarchies)), description_(std::move(description)) {}

  // Removes the parent groups if they are empty; live groups or other instances keep them.
  ~LinuxCgroupManager() override {
    for (const Hierarchy& h : hierarchies_) {
      if (::rmdir(h.base.c_str()) != 0 && errno != ENOENT && errno != EBUSY) {
        spdlog::warn("cannot remove cgroup {}: {}", h.base, std::strerror(errno));
      }
    }
  }

  Result<std::unique_ptr<Cgroup>> create(std::string_view id, const CgroupLimits& limits) override {
    if (!validName(id)) {
      return Error::invalid(
          fmt::format("invalid cgroup name '{}': use 1-200 letters, digits, '-' or '_'", id));
    }
    if (limits.memory_mb <= 0 || limits.max_processes <= 0) {
      return Error::invalid(fmt::format("invalid cgroup limits: memory {} MB, {} processes",
                                        limits.memory_mb, limits.max_processes));
    }
    std::vector<std::string> created;
    // Until the Cgroup owns them, a failure removes the directories made so far.
    Defer undo([&created] {
      for (const std::string& dir : created) (void)removeDir(dir);
    });

    std::vector<LinuxCgroup::Dir> dirs;
    UniqueFd clone_dir, oom_fd, peak_fd;
    for (const Hierarchy& h : hierarchies_) {
      std::string dir = fmt::format("{}/{}", h.base, id);
      if (::mkdir(dir.c_str(), 0755) != 0) {
        int err = errno;
        if (err == EEXIST) {
          return Error{ErrorCode::kAlreadyExists,
                       fmt::format("cgroup {} already exists: sandbox ids must be unique", dir)};
        }
        if (isPermissionError(err)) {
          return Error::unavailable(fmt::format("cgroup {} not writable ({}): {}", h.base,
                                                std::strerror(err), kWritableHint));
        }
        return Error::fromErrno(fmt::format("cannot create cgroup {}", dir), err);
      }
      created.push_back(dir);
      bool v2 = h.version == CgroupVersion::kV2;
      for (const std::string& c : h.controllers) {
        if (c == "memory") {
          GUST_ASSIGN_OR_RETURN(auto fds, writeMemoryLimits(dir, v2, limits.memory_mb));
          oom_fd = std::move(fds.first);
          peak_fd = std::move(fds.second);
        } else if (c == "pids") {
          GUST_TRY(writeFile(dir + "/pids.max", std::to_string(limits.max_processes)));
        } else if (c == "cpu") {
          GUST_TRY(v2 ? writeFile(dir + "/cpu.weight",
                                  std::to_string(cpuWeightForMemory(limits.memory_mb)))
                      : writeFile(dir + "/cpu.shares",
                                  std::to_string(cpuSharesForMemory(limits.memory_mb))));
        }
      }
      UniqueFd procs(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
      if (!procs) return writeError(dir + "/cgroup.procs", "", errno);
      if (v2 && hierarchies_.size() == 1) {
        // clone3(CLONE_INTO_CGROUP) takes a directory fd; O_PATH fds are refused.
        clone_dir.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!clone_dir) return Error::fromErrno(fmt::format("cannot open cgroup {}", dir), errno);
      }
      dirs.push_back({dir, h.has_cgroup_kill, std::move(procs), v2, h.controllers});
    }
    undo.cancel();  // the LinuxCgroup now owns the directories and removes them
    return std::unique_ptr<Cgroup>(new LinuxCgroup(std::move(dirs), std::move(clone_dir),
                                                   std::move(oom_fd), std::move(peak_fd)));
  }

  Status cleanupStale() override {
    std::string failures;
    for (const Hierarchy& h : hierarchies_) {
      for (const std::string& sub : subdirectories(h.base)) {
        std::string dir = h.base + "/" + sub;
        Status st = removeTree(dir, h.has_cgroup_kill);
        if (st.ok()) {
          spdlog::info("removed stale cgroup {}", dir);
        } else {
          failures += (failures.empty() ? "" : "; ") + st.error().message;
        }
      }
    }
    if (!failures.empty()) {
      return Error::unavailable("cannot remove stale cgroups: " + failures);
    }
    return okStatus();
  }

  std::string describe() const override { return description_; }

 private:
  // Writes the memory limit with no swap, and opens the OOM and peak counters.
  static Result<std::pair<UniqueFd, UniqueFd>> writeMemoryLimits(const std::string& dir, bool v2,
                                                                 int memory_mb) {
    std::string bytes = std::to_string(static_cast<uint64_t>(memory_mb) * kMiB);
    UniqueFd oom, peak;
    if (v2) {
      GUST_TRY(writeFile(dir + "/memory.max", bytes));
      // Swap is extra on v2; absent without swap accounting, when there is nothing to forbid.
      GUST_TRY(writeFileIfPresent(dir + "/memory.swap.max", "0"));
      // An OOM kills the whole sandbox, as on Lambda, rather than leaving it half alive.
      GUST_TRY(writeFileIfPresent(dir + "/memory.oom.group", "1"));
      oom.reset(::open((dir + "/memory.events").c_str(), O_RDONLY | O_CLOEXEC));
      peak.reset(::open((dir + "/memory.peak").c_str(), O_RDONLY | O_CLOEXEC));
    } else {
      GUST_TRY(writeFile(dir + "/memory.limit_in_bytes", bytes));
      // memsw is memory+swap, so equal to the limit means no swap. The file is absent when swap
      // accounting is off; then discourage swapping at least.
      std::string memsw = dir + "/memory.memsw.limit_in_bytes";
      if (::access(memsw.c_str(), F_OK) == 0) {
        GUST_TRY(writeFile(memsw, bytes));
      } else {
        GUST_TRY(writeFileIfPresent(dir + "/memory.swappiness", "0"));
      }
      oom.reset(::open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
      peak.reset(::open((dir + "/memory.max_usage_in_bytes").c_str(), O_RDONLY | O_CLOEXEC));
    }
    return std::make_pair(std::move(oom), std::move(peak));
  }

  std::vector<Hierarchy> hierarchies_;
  std::string description_;
};

std::string joinWords(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

}  // namespace

Result<std::unique_ptr<CgroupManager>> CgroupManager::detect(std::string_view parent) {
  if (!validName(parent)) {
    return Error::invalid(fmt::format(
        "invalid cgroup parent name '{}': use 1-200 letters, digits, '-' or '_'", parent));
  }
  GUST_ASSIGN_OR_RETURN(std::string mountinfo, readFile("/proc/self/mountinfo"));
  GUST_ASSIGN_OR_RETURN(std::string proc_cgroup, readFile("/proc/self/cgroup"));
  std::vector<CgroupMount> mounts = parseCgroupMounts(mountinfo);
  std::vector<ProcCgroupEntry> own = parseProcCgroup(proc_cgroup);
  const std::string server_leaf_name = std::string(parent) + "-server";
  // v2: our group, unless an earlier detect() in this process already moved us to the server
  // leaf; then its parent is the group Gust's tree hangs from.
  std::string v2_own = v2OwnDir(mounts, own);
  bool in_server_leaf = !v2_own.empty() && baseName(v2_own) == server_leaf_name;
  if (in_server_leaf) v2_own = dirName(v2_own);
  std::vector<std::string> v2_controllers;
  if (!v2_own.empty()) {
    auto text = readFile(v2_own + "/cgroup.controllers");
    if (text.ok()) v2_controllers = splitWords(*text);
  }

  CgroupPlan plan = planCgroups(mounts, own, v2_controllers);
  for (std::string_view required : {"memory", "pids"}) {
    if (!hasController(plan.missing, required)) continue;
    bool v2_only = std::none_of(mounts.begin(), mounts.end(), [](const CgroupMount& m) {
      return m.version == CgroupVersion::kV1;
    });
    if (v2_only && !v2_own.empty()) {
      return Error::unavailable(
          fmt::format("{} controller not available in cgroup {}: run gust as root, or delegate the "
                      "controller to its group (systemd: Delegate=yes on its unit)",
                      required, v2_own));
    }
    return Error::unavailable(fmt::format(
        "{} controller not found: enable the cgroups {} controller (cgroup_enable={} on the "
        "kernel command line) or run on a system with cgroup v2",
        required, required, required));
  }

  bool any_v1 = false, any_v2_mount = false;
  for (const CgroupMount& m : mounts) {
    any_v1 |= m.version == CgroupVersion::kV1;
    any_v2_mount |= m.version == CgroupVersion::kV2;
  }
  if (in_server_leaf) {
    for (CgroupHierarchy& h : plan.hierarchies) {
      if (h.version != CgroupVersion::kV2) continue;
      h.own_dir = dirName(h.own_dir);
      h.own_path = dirName(h.own_path);
    }
  }
  return makeCgroupManager(
      plan, parent, any_v1 ? (any_v2_mount ? "cgroup v1/hybrid" : "cgroup v1") : "cgroup v2");
}

Result<std::unique_ptr<CgroupManager>> makeCgroupManager(const CgroupPlan& plan,
                                                         std::string_view parent,
                                                         std::string_view kind) {
  if (!validName(parent)) {
    return Error::invalid(fmt::format(
        "invalid cgroup parent name '{}': use 1-200 letters, digits, '-' or '_'", parent));
  }
  const std::string server_leaf_name = std::string(parent) + "-server";
  std::vector<Hierarchy> hierarchies;
  std::string description;
  for (const CgroupHierarchy& ch : plan.hierarchies) {
    Hierarchy h;
    h.version = ch.version;
    h.controllers = ch.controllers;
    h.base = ch.own_dir + "/" + std::string(parent);
    if (ch.version == CgroupVersion::kV2) {
      // Processes in <own> move to this leaf if needed (the root group is exempt from the rule
      // and keeps them).
      GUST_TRY(prepareV2(ch.own_dir, h.base, h.controllers, ch.own_dir + "/" + server_leaf_name));
      h.has_cgroup_kill = ::access((h.base + "/cgroup.kill").c_str(), F_OK) == 0;
    } else {
      GUST_TRY(ensureDir(h.base));
    }
    description += fmt::format("{}{} in {}", description.empty() ? "" : ", ",
                               joinWords(h.controllers, "+"), h.base);
    hierarchies.push_back(std::move(h));
  }
  if (!plan.missing.empty()) {
    description += fmt::format(" (no {} controller)", joinWords(plan.missing, ", "));
  }
  return std::unique_ptr<CgroupManager>(
      new LinuxCgroupManager(std::move(hierarchies), fmt::format("{}: {}", kind, description)));
}

}  // namespace gust::sandbox
