// Cgroups: layout detection from canned /proc text (every layout), and real groups as root on
// whatever layout this machine has: limits, attach, OOM kills, pids.max, killAll, teardown,
// stale cleanup and concurrent creation.
#include "sandbox/linux/cgroups.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/files.h"
#include "sandbox/linux/cgroup_layout.h"
#include "sandbox/linux/cgroups_internal.h"

namespace gust::sandbox {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Layout detection on canned text.

// This development VM: v1 controllers, a controller-less cgroup2 at unified/, our memory group
// nested by the container manager.
constexpr std::string_view kHybridMountinfo =
    "22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr std::string_view kHybridProcCgroup =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";

TEST(CgroupLayout, HybridPicksV1HierarchiesAndOwnGroups) {
  auto mounts = parseCgroupMounts(kHybridMountinfo);
  ASSERT_EQ(mounts.size(), 6u);
  EXPECT_EQ(mounts[5].version, CgroupVersion::kV2);
  EXPECT_EQ(mounts[4].controllers, std::vector<std::string>{});  // name=systemd is no controller
  auto own = parseProcCgroup(kHybridProcCgroup);
  EXPECT_EQ(v2OwnDir(mounts, own), "/sys/fs/cgroup/unified");
  // The unified mount offers only what v1 left over.
  CgroupPlan plan = planCgroups(mounts, own, {"hugetlb"});
  EXPECT_TRUE(plan.missing.empty());
  ASSERT_EQ(plan.hierarchies.size(), 3u);
  EXPECT_EQ(plan.hierarchies[0].version, CgroupVersion::kV1);
  EXPECT_EQ(plan.hierarchies[0].own_dir, "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(plan.hierarchies[0].controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(plan.hierarchies[1].own_dir, "/sys/fs/cgroup/pids");
  EXPECT_EQ(plan.hierarchies[2].own_dir, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(plan.hierarchies[2].controllers, std::vector<std::string>{"cpu"});
}

TEST(CgroupLayout, PureV2UsesOneHierarchyForEveryDelegatedController) {
  auto mounts = parseCgroupMounts(
      "24 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n"
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n");
  auto own = parseProcCgroup("0::/system.slice/gust.service\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(v2OwnDir(mounts, own), "/sys/fs/cgroup/system.slice/gust.service");
  CgroupPlan plan = planCgroups(mounts, own, splitWords("cpuset cpu io memory pids\n"));
  EXPECT_TRUE(plan.missing.empty());
  ASSERT_EQ(plan.hierarchies.size(), 1u);
  EXPECT_EQ(plan.hierarchies[0].version, CgroupVersion::kV2);
  EXPECT_EQ(plan.hierarchies[0].own_dir, "/sys/fs/cgroup/system.slice/gust.service");
  EXPECT_EQ(plan.hierarchies[0].own_path, "/system.slice/gust.service");
  EXPECT_EQ(plan.hierarchies[0].controllers, (std::vector<std::string>{"memory", "pids", "cpu"}));
}

TEST(CgroupLayout, PureV2WithoutDelegationReportsMissingControllers) {
  auto mounts = parseCgroupMounts(
      "30 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  auto own = parseProcCgroup("0::/user.slice/user-1000.slice/session-2.scope\n");
  CgroupPlan plan = planCgroups(mounts, own, {});
  EXPECT_EQ(plan.missing, (std::vector<std::string>{"memory", "pids", "cpu"}));
  plan = planCgroups(mounts, own, {"memory", "pids"});
  EXPECT_EQ(plan.missing, std::vector<std::string>{"cpu"});
}

TEST(CgroupLayout, V1WithCombinedCpuMountAndOptionalFields) {
  auto mounts = parseCgroupMounts(
      "25 18 0:21 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:7 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "26 18 0:22 / /sys/fs/cgroup/memory rw,nosuid shared:8 - cgroup cgroup rw,memory\n"
      "27 18 0:23 / /sys/fs/cgroup/pids rw,nosuid shared:9 master:3 - cgroup cgroup rw,pids\n");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  auto own = parseProcCgroup(
      "11:pids:/system.slice/gust.service\n"
      "4:memory:/system.slice/gust.service\n"
      "3:cpu,cpuacct:/system.slice/gust.service\n");
  CgroupPlan plan = planCgroups(mounts, own, {});
  EXPECT_TRUE(plan.missing.empty());
  ASSERT_EQ(plan.hierarchies.size(), 3u);
  EXPECT_EQ(plan.hierarchies[2].own_dir, "/sys/fs/cgroup/cpu,cpuacct/system.slice/gust.service");
}

TEST(CgroupLayout, HybridWithAControllerOnlyInV2) {
  auto mounts = parseCgroupMounts(
      "26 18 0:22 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "28 18 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
  auto own = parseProcCgroup("4:memory:/a\n0::/a\n");
  CgroupPlan plan = planCgroups(mounts, own, {"pids"});
  ASSERT_EQ(plan.hierarchies.size(), 2u);
  EXPECT_EQ(plan.hierarchies[0].version, CgroupVersion::kV1);
  EXPECT_EQ(plan.hierarchies[1].version, CgroupVersion::kV2);
  EXPECT_EQ(plan.hierarchies[1].own_dir, "/sys/fs/cgroup/unified/a");
  EXPECT_EQ(plan.hierarchies[1].controllers, std::vector<std::string>{"pids"});
  EXPECT_EQ(plan.missing, std::vector<std::string>{"cpu"});
}

TEST(CgroupLayout, ContainerMountOfASubtreeAndEscapedPaths) {
  // Docker without a cgroup namespace: the container's own group is mounted at the usual place.
  auto mounts = parseCgroupMounts(
      "300 290 0:22 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "301 290 0:23 /docker/abc /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[1].mount_point, "/sys/fs/cgroup/my pids");
  auto own = parseProcCgroup("5:pids:/docker/abc/x\n4:memory:/docker/abc\n");
  CgroupPlan plan = planCgroups(mounts, own, {});
  ASSERT_EQ(plan.hierarchies.size(), 2u);
  EXPECT_EQ(plan.hierarchies[0].own_dir, "/sys/fs/cgroup/memory");
  EXPECT_EQ(plan.hierarchies[1].own_dir, "/sys/fs/cgroup/my pids/x");
  // A group outside the mounted subtree cannot be reached through that mount.
  plan = planCgroups(mounts, parseProcCgroup("4:memory:/docker/other\n5:pids:/docker/abc\n"), {});
  EXPECT_EQ(plan.missing, (std::vector<std::string>{"memory", "cpu"}));
}

TEST(CgroupLayout, ProcCgroupPathsMayContainColons) {
  auto own = parseProcCgroup("0::/a:b/c\ngarbage\n");
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].path, "/a:b/c");
}

TEST(CgroupLayout, ReadsKeyedCounters) {
  constexpr std::string_view kEvents =
      "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 1\n";
  EXPECT_EQ(keyedValue(kEvents, "oom_kill"), 1);
  EXPECT_EQ(keyedValue(kEvents, "oom"), 1);
  EXPECT_EQ(keyedValue(kEvents, "max"), 12);
  EXPECT_EQ(keyedValue("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"), 3);
  // Kernels before 4.13 have no oom_kill line in memory.oom_control.
  EXPECT_EQ(keyedValue("oom_kill_disable 0\nunder_oom 0\n", "oom_kill"), -1);
}

TEST(CgroupLayout, CpuShareIsProportionalToMemory) {
  EXPECT_EQ(cpuSharesForMemory(1769), 1024u);
  EXPECT_EQ(cpuSharesForMemory(3538), 2048u);
  EXPECT_EQ(cpuSharesForMemory(128), 74u);
  EXPECT_EQ(cpuSharesForMemory(1), 2u);  // the kernel's floor
  EXPECT_EQ(cpuWeightForMemory(1769), 100u);
  EXPECT_EQ(cpuWeightForMemory(10240), 578u);
  EXPECT_EQ(cpuWeightForMemory(128), 7u);
  EXPECT_EQ(cpuWeightForMemory(1), 1u);
}

// ---------------------------------------------------------------------------------------------
// Real cgroups (root only).

// A forked child that runs `body` once the test lets it go (after attaching it), and is killed
// and reaped on destruction.
class Child {
 public:
  explicit Child(const std::function<void()>& body) {
    int go[2];
    GUST_CHECK(::pipe2(go, O_CLOEXEC) == 0, "pipe");
    pid_ = ::fork();
    GUST_CHECK(pid_ >= 0, "fork");
    if (pid_ == 0) {
      ::close(go[1]);
      char c;
      if (::read(go[0], &c, 1) != 1) ::_exit(100);
      body();
      ::_exit(0);
    }
    ::close(go[0]);
    go_ = go[1];
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    GUST_CHECK(pidfd_ >= 0, "pidfd_open");
  }
  ~Child() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    if (go_ >= 0) ::close(go_);
    ::close(pidfd_);
  }
  pid_t pid() const { return pid_; }
  void start() {
    GUST_CHECK(::write(go_, "g", 1) == 1, "start child");
    ::close(go_);
    go_ = -1;
  }
  // The wait status once the child exits, or -1 after `timeout`.
  int wait(std::chrono::milliseconds timeout = 20s) {
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
    int st = 0;
    GUST_CHECK(::waitpid(pid_, &st, 0) == pid_, "waitpid");
    reaped_ = true;
    return st;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
};

std::string readOrEmpty(const std::string& path) {
  auto r = readFile(path);
  return r.ok() ? *r : "";
}

std::vector<std::string> procsOf(const std::string& dir) {
  return splitWords(readOrEmpty(dir + "/cgroup.procs"));
}

bool writeProcs(const std::string& dir, pid_t pid) {
  int fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string s = std::to_string(pid);
  bool ok = ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  ::close(fd);
  return ok;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

class CgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "cgroups need root";
    // A parent of our own, so concurrent test runs never clean up each other's groups.
    parent_ = "gust-test-" + std::to_string(::getpid());
    auto m = CgroupManager::detect(parent_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    manager_ = std::move(*m);
    // The directories where the groups should appear, derived independently of the manager.
    auto mounts = parseCgroupMounts(*readFile("/proc/self/mountinfo"));
    auto own = parseProcCgroup(*readFile("/proc/self/cgroup"));
    std::string v2 = v2OwnDir(mounts, own);
    std::vector<std::string> v2_controllers = splitWords(readOrEmpty(v2 + "/cgroup.controllers"));
    plan_ = planCgroups(mounts, own, v2_controllers);
    ASSERT_FALSE(plan_.hierarchies.empty());
  }

  // The group `id` in each hierarchy, with the controllers it hosts.
  std::vector<std::pair<std::string, std::vector<std::string>>> dirsOf(const std::string& id) {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    for (const CgroupHierarchy& h : plan_.hierarchies) {
      out.emplace_back(h.own_dir + "/" + parent_ + (id.empty() ? "" : "/" + id), h.controllers);
    }
    return out;
  }

  std::string dirWith(const std::string& id, std::string_view controller) {
    for (auto& [dir, controllers] : dirsOf(id)) {
      if (std::find(controllers.begin(), controllers.end(), controller) != controllers.end())
        return dir;
    }
    return "";
  }

  bool isV2(std::string_view controller) {
    for (const CgroupHierarchy& h : plan_.hierarchies) {
      if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end())
        return h.version == CgroupVersion::kV2;
    }
    return false;
  }

  std::string parent_;
  std::unique_ptr<CgroupManager> manager_;
  CgroupPlan plan_;
};

TEST_F(CgroupsTest, DescribesTheLayout) {
  std::string d = manager_->describe();
  EXPECT_NE(d.find("cgroup v"), std::string::npos) << d;
  EXPECT_NE(d.find("memory"), std::string::npos) << d;
  EXPECT_NE(d.find("pids"), std::string::npos) << d;
  EXPECT_NE(d.find(parent_), std::string::npos) << d;
}

TEST_F(CgroupsTest, WritesTheLimits) {
  auto cg = manager_->create("limits", {.memory_mb = 64, .max_processes = 7});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  std::string mem = dirWith("limits", "memory");
  std::string pids = dirWith("limits", "pids");
  EXPECT_EQ(readOrEmpty(pids + "/pids.max"), "7\n");
  if (isV2("memory")) {
    EXPECT_EQ(readOrEmpty(mem + "/memory.max"), "67108864\n");
    if (fs::exists(mem + "/memory.swap.max")) {
      EXPECT_EQ(readOrEmpty(mem + "/memory.swap.max"), "0\n");
    }
  } else {
    EXPECT_EQ(readOrEmpty(mem + "/memory.limit_in_bytes"), "67108864\n");
    if (fs::exists(mem + "/memory.memsw.limit_in_bytes")) {
      EXPECT_EQ(readOrEmpty(mem + "/memory.memsw.limit_in_bytes"), "67108864\n");
    }
  }
  std::string cpu = dirWith("limits", "cpu");
  if (!cpu.empty()) {
    if (isV2("cpu")) {
      EXPECT_EQ(readOrEmpty(cpu + "/cpu.weight"), "3\n");  // 64 * 100 / 1769
    } else {
      EXPECT_EQ(readOrEmpty(cpu + "/cpu.shares"), "37\n");  // 64 * 1024 / 1769
    }
  }
  EXPECT_FALSE((*cg)->oomKilled());
}

TEST_F(CgroupsTest, RejectsBadNamesAndDuplicates) {
  EXPECT_EQ(manager_->create("a/b", {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(manager_->create("..", {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(manager_->create("memory.max", {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(manager_->create("", {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(manager_->create("x", {.memory_mb = 0}).error().code, ErrorCode::kInvalidArgument);
  auto first = manager_->create("dup", {});
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = manager_->create("dup", {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
  // The failed create must not have removed the live group's directories.
  for (auto& [dir, controllers] : dirsOf("dup")) EXPECT_TRUE(fs::exists(dir)) << dir;
}

TEST_F(CgroupsTest, AttachMovesTheProcessIntoEveryHierarchy) {
  auto cg = manager_->create("attach", {});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  Child child([] { ::pause(); });
  ASSERT_TRUE((*cg)->attach(child.pid()).ok());
  for (auto& [dir, controllers] : dirsOf("attach")) {
    EXPECT_EQ(procsOf(dir), std::vector<std::string>{std::to_string(child.pid())}) << dir;
  }
  EXPECT_EQ((*cg)->attach(999999999).error().code, ErrorCode::kNotFound);
}

TEST_F(CgroupsTest, MemoryLimitKillsAndIsReported) {
  auto cg = manager_->create("oom", {.memory_mb = 64, .max_processes = 8});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  Child child([] {
    constexpr size_t kSize = 200 << 20;
    void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(101);
    for (size_t off = 0; off < kSize; off += 4096) static_cast<volatile char*>(p)[off] = 1;
    ::_exit(0);  // reaching here means the limit did not hold
  });
  ASSERT_TRUE((*cg)->attach(child.pid()).ok());
  child.start();
  int st = child.wait();
  ASSERT_NE(st, -1) << "child neither exited nor was killed";
  ASSERT_TRUE(WIFSIGNALED(st)) << "exit status " << WEXITSTATUS(st);
  EXPECT_EQ(WTERMSIG(st), SIGKILL);
  EXPECT_TRUE((*cg)->oomKilled());
  uint64_t peak = (*cg)->peakMemoryBytes();
  EXPECT_GT(peak, 32u << 20);
  EXPECT_LE(peak, (64u << 20) + (1u << 20));
}

TEST_F(CgroupsTest, PidsLimitStopsForks) {
  auto cg = manager_->create("pids", {.memory_mb = 128, .max_processes = 4});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  int result[2];
  ASSERT_EQ(::pipe2(result, O_CLOEXEC), 0);
  Child child([fd = result[1]] {
    int forked = 0, err = 0;
    for (int i = 0; i < 32; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        for (;;) ::pause();
      }
      if (p < 0) {
        err = errno;
        break;
      }
      ++forked;
    }
    int report[2] = {forked, err};
    (void)!::write(fd, report, sizeof report);
    for (;;) ::pause();
  });
  ::close(result[1]);
  ASSERT_TRUE((*cg)->attach(child.pid()).ok());
  child.start();
  pollfd p{result[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 20000), 1);
  int report[2] = {-1, -1};
  ASSERT_EQ(::read(result[0], report, sizeof report), static_cast<ssize_t>(sizeof report));
  ::close(result[0]);
  EXPECT_EQ(report[0], 3);  // 4 processes in all, the child included
  EXPECT_EQ(report[1], EAGAIN);
  EXPECT_EQ(procsOf(dirWith("pids", "pids")).size(), 4u);
  (*cg)->killAll();
  for (auto& [dir, controllers] : dirsOf("pids")) EXPECT_TRUE(procsOf(dir).empty()) << dir;
  int st = child.wait();
  ASSERT_TRUE(WIFSIGNALED(st));
  EXPECT_EQ(WTERMSIG(st), SIGKILL);
}

TEST_F(CgroupsTest, KillAllEmptiesTheGroupAndDestructionRemovesIt) {
  auto cg = manager_->create("killall", {});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  Child a([] { ::pause(); });
  Child b([] {
    // A grandchild, which the test cannot see but killAll must find.
    if (::fork() == 0) {
      for (;;) ::pause();
    }
    for (;;) ::pause();
  });
  ASSERT_TRUE((*cg)->attach(a.pid()).ok());
  ASSERT_TRUE((*cg)->attach(b.pid()).ok());
  b.start();
  std::string mem = dirWith("killall", "memory");
  ASSERT_TRUE(eventually([&] { return procsOf(mem).size() == 3; }));
  (*cg)->killAll();
  for (auto& [dir, controllers] : dirsOf("killall")) EXPECT_TRUE(procsOf(dir).empty()) << dir;
  int st = a.wait();
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  st = b.wait();
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

  cg->reset();
  for (auto& [dir, controllers] : dirsOf("killall")) EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST_F(CgroupsTest, KillAllStopsAForkBomb) {
  auto cg = manager_->create("bomb", {.memory_mb = 128, .max_processes = 16});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  // Every process forks for ever; pids.max keeps the group at 16 while killAll races it.
  Child child([] {
    for (;;) ::fork();
  });
  ASSERT_TRUE((*cg)->attach(child.pid()).ok());
  child.start();
  std::string pids = dirWith("bomb", "pids");
  ASSERT_TRUE(eventually([&] { return procsOf(pids).size() >= 8; }));
  (*cg)->killAll();
  for (auto& [dir, controllers] : dirsOf("bomb")) EXPECT_TRUE(procsOf(dir).empty()) << dir;
  int st = child.wait();
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

TEST_F(CgroupsTest, DestructionKillsWhatIsLeft) {
  auto cg = manager_->create("leftover", {});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  Child child([] { ::pause(); });
  ASSERT_TRUE((*cg)->attach(child.pid()).ok());
  cg->reset();
  int st = child.wait();
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  for (auto& [dir, controllers] : dirsOf("leftover")) EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST_F(CgroupsTest, CleanupStaleRemovesLeftoversAndTheirProcesses) {
  // As a killed server leaves them: a group with a live process, and one with a subgroup.
  Child child([] { ::pause(); });
  for (auto& [dir, controllers] : dirsOf("stale-1")) {
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    ASSERT_TRUE(writeProcs(dir, child.pid())) << dir;
  }
  for (auto& [dir, controllers] : dirsOf("stale-2")) {
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    ASSERT_EQ(::mkdir((dir + "/nested").c_str(), 0755), 0) << dir;
  }
  ASSERT_EQ(procsOf(dirWith("stale-1", "memory")),
            std::vector<std::string>{std::to_string(child.pid())});
  auto live = manager_->create("live", {});
  ASSERT_TRUE(live.ok());

  Status st = manager_->cleanupStale();
  ASSERT_TRUE(st.ok()) << st.error().message;
  int ws = child.wait();
  EXPECT_TRUE(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
  for (auto& [dir, controllers] : dirsOf("stale-1")) EXPECT_FALSE(fs::exists(dir)) << dir;
  for (auto& [dir, controllers] : dirsOf("stale-2")) EXPECT_FALSE(fs::exists(dir)) << dir;
  // cleanupStale runs once at start, before any group exists, so it spares nothing; a Cgroup
  // whose directories are gone is destroyed quietly.
  for (auto& [dir, controllers] : dirsOf("live")) EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST_F(CgroupsTest, ConcurrentCreates) {
  constexpr int kThreads = 4, kPerThread = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<Cgroup>> groups;
      for (int i = 0; i < kPerThread; ++i) {
        auto cg = manager_->create("c" + std::to_string(t) + "_" + std::to_string(i), {});
        if (!cg.ok()) {
          ++failures;
          continue;
        }
        groups.push_back(std::move(*cg));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (auto& [dir, controllers] : dirsOf("")) {
    EXPECT_TRUE(fs::is_empty(dir) ||
                std::none_of(fs::directory_iterator(dir), fs::directory_iterator(),
                             [](auto& e) { return e.is_directory(); }))
        << dir;
  }
}

TEST_F(CgroupsTest, DetectTwiceSharesTheParent) {
  auto again = CgroupManager::detect(parent_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto a = manager_->create("one", {});
  auto b = (*again)->create("two", {});
  EXPECT_TRUE(a.ok() && b.ok());
}

TEST_F(CgroupsTest, UnprivilegedDetectSaysWhatToDo) {
  // A child that drops root tries to prepare a parent of its own, and reports on its exit code.
  std::string parent = parent_ + "-nobody";
  Child child([parent] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    auto m = CgroupManager::detect(parent);
    if (m.ok()) ::_exit(3);
    if (m.error().code != ErrorCode::kUnavailable) ::_exit(4);
    if (m.error().message.find("run gust as root or delegate") == std::string::npos) ::_exit(5);
    ::_exit(0);
  });
  child.start();
  int st = child.wait();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  for (auto& [dir, controllers] : dirsOf("")) {
    EXPECT_FALSE(fs::exists(fs::path(dir).parent_path() / parent)) << dir;
  }
}

// The v2 paths (directory fd, clone3(CLONE_INTO_CGROUP), cgroup.kill, cgroup.events) on the
// machine's cgroup2 mount, with no controllers: on a hybrid host it is the only v2 hierarchy
// there is, and on a pure v2 host this complements the fixture above.
class CgroupsV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "cgroups need root";
    auto mounts = parseCgroupMounts(*readFile("/proc/self/mountinfo"));
    auto own = parseProcCgroup(*readFile("/proc/self/cgroup"));
    std::string dir = v2OwnDir(mounts, own);
    if (dir.empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
    parent_ = "gust-test-v2-" + std::to_string(::getpid());
    base_ = dir + "/" + parent_;
    CgroupPlan plan;
    plan.hierarchies.push_back({CgroupVersion::kV2, dir, "", {}});
    auto m = makeCgroupManager(plan, parent_, "cgroup v2");
    ASSERT_TRUE(m.ok()) << m.error().message;
    manager_ = std::move(*m);
    // The root group has no cgroup.kill, so look in ours.
    if (!fs::exists(base_ + "/cgroup.kill")) GTEST_SKIP() << "no cgroup.kill (kernel before 5.14)";
  }

  std::string parent_, base_;
  std::unique_ptr<CgroupManager> manager_;
};

// clone3(CLONE_INTO_CGROUP) of a child that waits to be killed; returns its pid.
pid_t cloneInto(int cgroup_fd) {
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    for (;;) ::pause();
  }
  return static_cast<pid_t>(pid);
}

TEST_F(CgroupsV2Test, CloneIntoKillAllAndRemove) {
  auto cg = manager_->create("v2", {});
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  std::string dir = base_ + "/v2";
  ASSERT_GE((*cg)->cloneIntoFd(), 0);
  pid_t cloned = cloneInto((*cg)->cloneIntoFd());
  ASSERT_GT(cloned, 0) << std::strerror(errno);
  Child attached([] { ::pause(); });
  ASSERT_TRUE((*cg)->attach(attached.pid()).ok());
  std::vector<std::string> procs = procsOf(dir);
  std::sort(procs.begin(), procs.end());
  std::vector<std::string> want = {std::to_string(cloned), std::to_string(attached.pid())};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(procs, want);
  EXPECT_FALSE((*cg)->oomKilled());
  EXPECT_EQ((*cg)->peakMemoryBytes(), 0u);  // no memory controller here

  (*cg)->killAll();
  EXPECT_TRUE(procsOf(dir).empty());
  int st = 0;
  ASSERT_EQ(::waitpid(cloned, &st, 0), cloned);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  st = attached.wait();
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  cg->reset();
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(CgroupsV2Test, CleanupStaleKillsWithCgroupKill) {
  Child child([] { ::pause(); });
  std::string stale = base_ + "/stale";
  ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0);
  ASSERT_TRUE(writeProcs(stale, child.pid()));
  Status st = manager_->cleanupStale();
  ASSERT_TRUE(st.ok()) << st.error().message;
  int ws = child.wait();
  EXPECT_TRUE(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
  EXPECT_FALSE(fs::exists(stale));
}

}  // namespace
}  // namespace gust::sandbox
