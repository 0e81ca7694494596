#include "sandbox/linux/mount_into.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "common/crypto.h"
#include "common/unique_fd.h"

namespace gust::sandbox {
namespace {

namespace fs = std::filesystem;

// A child in its own mount namespace with a tmpfs at `root` holding an empty `task` directory.
// It answers probes written to its pipe: 'r' = can it read task/code.txt, 'w' = can it create
// task/new, 's' = tmpfs size of root in KiB.
class NamespacedChild {
 public:
  explicit NamespacedChild(fs::path root) : root_(std::move(root)) {
    int to[2], from[2];
    EXPECT_EQ(::pipe(to), 0);
    EXPECT_EQ(::pipe(from), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(to[1]);
      ::close(from[0]);
      if (::unshare(CLONE_NEWNS) != 0) ::_exit(10);
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(11);
      ::mkdir(root_.c_str(), 0755);
      if (::mount("tmpfs", root_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0)
        ::_exit(12);
      ::mkdir((root_ / "task").c_str(), 0755);
      char c = 'x';
      if (::write(from[1], &c, 1) != 1) ::_exit(13);
      while (::read(to[0], &c, 1) == 1) {
        char answer = '?';
        if (c == 'r') {
          answer = ::access((root_ / "task" / "code.txt").c_str(), R_OK) == 0 ? 'y' : 'n';
        } else if (c == 'w') {
          int fd = ::open((root_ / "task" / "new").c_str(), O_CREAT | O_WRONLY, 0644);
          answer = fd >= 0 ? 'y' : (errno == EROFS ? 'R' : 'n');
        } else if (c == 's') {
          struct statvfs st {};
          ::statvfs(root_.c_str(), &st);
          answer = static_cast<char>('0' + (st.f_blocks * st.f_frsize) / (1024 * 1024));
        }
        if (::write(from[1], &answer, 1) != 1) ::_exit(14);
      }
      ::_exit(0);
    }
    ::close(to[0]);
    ::close(from[1]);
    to_ = UniqueFd(to[1]);
    from_ = UniqueFd(from[0]);
    char c;
    EXPECT_EQ(::read(from_.get(), &c, 1), 1);
    pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  }
  ~NamespacedChild() {
    to_.reset();
    int status;
    ::waitpid(pid_, &status, 0);
  }
  char ask(char probe) {
    EXPECT_EQ(::write(to_.get(), &probe, 1), 1);
    char c = 0;
    EXPECT_EQ(::read(from_.get(), &c, 1), 1);
    return c;
  }
  int pidfd() const { return pidfd_.get(); }

 private:
  fs::path root_;
  pid_t pid_ = -1;
  UniqueFd to_, from_, pidfd_;
};

class MountIntoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces)";
    dir_ = fs::path(::testing::TempDir()) / ("mount_into_" + randomHex(4));
    fs::create_directories(dir_ / "code");
    std::ofstream(dir_ / "code" / "code.txt") << "print('hi')\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(MountIntoTest, CodeAppearsReadOnlyInTheOtherNamespaceOnly) {
  NamespacedChild child(dir_ / "root");
  EXPECT_EQ(child.ask('r'), 'n');
  ASSERT_TRUE(bindReadOnlyInto(child.pidfd(), dir_ / "code", dir_ / "root" / "task").ok());
  EXPECT_EQ(child.ask('r'), 'y');
  EXPECT_EQ(child.ask('w'), 'R');  // read-only
  // Our own namespace is untouched: the mount point there is the plain (missing) directory.
  EXPECT_FALSE(fs::exists(dir_ / "root" / "task" / "code.txt"));
}

TEST_F(MountIntoTest, TmpfsCanBeResized) {
  NamespacedChild child(dir_ / "root");
  EXPECT_EQ(child.ask('s'), '1');
  ASSERT_TRUE(resizeTmpfsIn(child.pidfd(), dir_ / "root", 5u << 20).ok());
  EXPECT_EQ(child.ask('s'), '5');
}

TEST_F(MountIntoTest, ErrorsNameTheStep) {
  NamespacedChild child(dir_ / "root");
  auto st = bindReadOnlyInto(child.pidfd(), dir_ / "code", dir_ / "root" / "missing");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("move_mount"), std::string::npos) << st.error().message;
  st = bindReadOnlyInto(child.pidfd(), dir_ / "nope", dir_ / "root" / "task");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("open_tree"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace gust::sandbox
