// ProcessSandbox with real processes: environment, fds, privileges, errors, teardown.
#include "sandbox/linux/process_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace gust::sandbox {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Reads `fd` until EOF or the deadline.
std::string readAll(int fd, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      break;
    }
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Polls `cond` until it holds or 10 s pass.
template <class F>
bool eventually(F cond) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

class ProcessSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gust-sandbox-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    code_dir_ = root_ / "code";
    scratch_root_ = root_ / "scratch";
    fs::create_directories(code_dir_);
    fs::create_directories(scratch_root_);
    // The instance runs as nobody when we are root: it must be able to reach its dirs.
    for (const auto& d : {root_, code_dir_, scratch_root_}) ::chmod(d.c_str(), 0755);
    ProcessSandboxOptions options;
    options.scratch_root = scratch_root_;
    sandbox_ = makeProcessSandbox(options);
  }
  void TearDown() override { fs::remove_all(root_); }

  SpawnSpec shell(const std::string& script, std::vector<std::string> env = {}) {
    SpawnSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = std::move(env);
    spec.code_dir = code_dir_;
    spec.runtime_dir = code_dir_;
    return spec;
  }

  fs::path root_, code_dir_, scratch_root_;
  std::unique_ptr<Sandbox> sandbox_;
};

TEST_F(ProcessSandboxTest, EnvironmentIsExactlyWhatWasGivenPlusTmpdir) {
  ::setenv("GUST_TEST_SERVER_SECRET", "must-not-leak", 1);
  SpawnSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {"A=1", "B=two words", "TMPDIR=/ignored"};
  spec.code_dir = code_dir_;
  spec.runtime_dir = code_dir_;
  auto p = sandbox_->spawn(spec);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto env = lines(readAll((*p)->stdoutFd()));
  ASSERT_EQ(env.size(), 3u) << ::testing::PrintToString(env);
  EXPECT_EQ(env[0], "A=1");
  EXPECT_EQ(env[1], "B=two words");
  ASSERT_TRUE(env[2].starts_with("TMPDIR=" + scratch_root_.string() + "/gust-instance-")) << env[2];
  fs::path tmp = env[2].substr(7);
  struct stat st {};
  ASSERT_EQ(::stat(tmp.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  if (::geteuid() == 0) EXPECT_EQ(st.st_uid, 65534u);
  ::unsetenv("GUST_TEST_SERVER_SECRET");
  p->reset();
  EXPECT_FALSE(fs::exists(tmp)) << "the scratch dir must be removed at teardown";
}

TEST_F(ProcessSandboxTest, OnlyFdsZeroToThreeAreOpen) {
  int leaked = ::open("/dev/null", O_RDONLY);  // deliberately not CLOEXEC
  ASSERT_GE(leaked, 0);
  SpawnSpec spec;
  spec.argv = {"/bin/sleep", "1000"};
  spec.code_dir = code_dir_;
  auto p = sandbox_->spawn(spec);
  ::close(leaked);
  ASSERT_TRUE(p.ok()) << p.error().message;
  // spawn() returns after the exec, but the dynamic loader briefly opens files of its own while
  // it maps libraries: wait (with a deadline) for the table to settle. An inherited fd would
  // stay open and fail the comparison.
  const std::set<std::string> expected{"0", "1", "2", "3"};
  std::set<std::string> fds;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    fds.clear();
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string((*p)->pid()) + "/fd"))
      fds.insert(e.path().filename().string());
    std::this_thread::yield();
  } while (fds != expected && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(fds, expected);
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string((*p)->pid()) + "/fd/0"), "/dev/null");
}

TEST_F(ProcessSandboxTest, ChannelIsFdThreeAndStderrIsSeparate) {
  auto p = sandbox_->spawn(shell("echo to-channel >&3; echo to-stderr >&2; read x <&3; echo $x"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  char buf[64];
  ssize_t n = ::read((*p)->channelFd(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "to-channel\n");
  ASSERT_EQ(::write((*p)->channelFd(), "back\n", 5), 5);
  EXPECT_EQ(readAll((*p)->stdoutFd()), "back\n");
  EXPECT_EQ(readAll((*p)->stderrFd()), "to-stderr\n");
}

TEST_F(ProcessSandboxTest, WorkdirAndLimits) {
  SpawnSpec spec = shell("pwd; ulimit -n; ulimit -c; cat </dev/stdin | wc -c");
  spec.limits.max_open_files = 77;
  auto p = sandbox_->spawn(spec);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto out = lines(readAll((*p)->stdoutFd()));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], code_dir_.string());
  EXPECT_EQ(out[1], "77");
  EXPECT_EQ(out[2], "0");
  EXPECT_EQ(out[3], "0") << "stdin is /dev/null";
}

TEST_F(ProcessSandboxTest, RunsUnprivilegedWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto p = sandbox_->spawn(
      shell("grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "
            "/proc/self/status"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  std::map<std::string, std::string> status;
  for (const auto& line : lines(readAll((*p)->stdoutFd()))) {
    auto colon = line.find(':');
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    std::replace(value.begin(), value.end(), '\t', ' ');
    status[line.substr(0, colon)] = value;
  }
  EXPECT_EQ(status["Uid"], "65534 65534 65534 65534");
  EXPECT_EQ(status["Gid"], "65534 65534 65534 65534");
  EXPECT_EQ(status["Groups"], "");
  for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(status[cap], "0000000000000000") << cap;
  EXPECT_EQ(status["NoNewPrivs"], "1");
}

TEST_F(ProcessSandboxTest, ExecFailureIsAClearError) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/python3", "-c", "pass"};
  spec.code_dir = code_dir_;
  auto p = sandbox_->spawn(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(p.error().message.find("cannot start /nonexistent/python3: No such file or directory"),
            std::string::npos)
      << p.error().message;
  EXPECT_TRUE(fs::is_empty(scratch_root_)) << "a failed spawn leaves no scratch dir";
}

TEST_F(ProcessSandboxTest, UnreadableCodeDirIsAClearError) {
  SpawnSpec spec = shell("true");
  spec.code_dir = root_ / "missing";
  auto p = sandbox_->spawn(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("cannot enter the code directory"), std::string::npos)
      << p.error().message;
}

TEST_F(ProcessSandboxTest, RelativeArgv0IsRejected) {
  SpawnSpec spec = shell("true");
  spec.argv[0] = "sh";
  auto p = sandbox_->spawn(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ProcessSandboxTest, ExitStatusIsReported) {
  auto p = sandbox_->spawn(shell("exit 7"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto status = (*p)->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 7);
  EXPECT_EQ((*p)->exitStatus(), status) << "exitStatus() does not consume the status";
}

TEST_F(ProcessSandboxTest, KillStopsTheWholeProcessGroup) {
  auto p = sandbox_->spawn(shell("sleep 1000 & echo $!; wait"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  // Read the grandchild's pid (first line) without waiting for EOF.
  std::string first;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (first.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{(*p)->stdoutFd(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    char buf[64];
    ssize_t n = ::read((*p)->stdoutFd(), buf, sizeof buf);
    if (n > 0) first.append(buf, static_cast<size_t>(n));
  }
  pid_t grandchild = std::atoi(first.c_str());
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE((*p)->exitStatus().has_value());
  (*p)->kill();
  (*p)->kill();  // idempotent
  auto status = (*p)->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  // The grandchild is reparented and reaped by init; until then it is a zombie.
  EXPECT_TRUE(eventually([&] {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string content;
    std::getline(stat, content);
    if (content.empty()) return true;
    auto close_paren = content.rfind(')');
    return close_paren != std::string::npos && content.substr(close_paren + 2, 1) == "Z";
  }));
}

TEST_F(ProcessSandboxTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto p = sandbox_->spawn(shell("sleep 1000"));
    ASSERT_TRUE(p.ok()) << p.error().message;
    pid = (*p)->pid();
  }
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1) << "already reaped";
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(ProcessSandboxTest, LayoutShowsHostPaths) {
  SpawnSpec spec = shell("true");
  spec.runtime_dir = root_ / "runtime";
  Layout layout = sandbox_->layout(spec);
  EXPECT_EQ(layout.task_root, code_dir_);
  EXPECT_EQ(layout.runtime_dir, root_ / "runtime");
  EXPECT_EQ(layout.tmp_dir, scratch_root_);
}

}  // namespace
}  // namespace gust::sandbox
