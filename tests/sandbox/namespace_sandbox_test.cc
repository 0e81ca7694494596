// NamespaceSandbox with real processes: probes run inside the sandbox (/bin/sh, Debian's
// /usr/bin/python3) and report what they see; the tests assert the isolation. Needs root.
#include "sandbox/linux/namespace_sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "sandbox/linux/cgroups.h"
#include "sandbox/linux/egress_network.h"
#include "sandbox/linux/seccomp.h"

namespace gust::sandbox {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string readAll(int fd, std::chrono::milliseconds timeout = 20s) {
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

// "key=value" lines into a map.
std::map<std::string, std::string> keyValues(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

class NamespaceSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the namespace sandbox needs root";
    std::string tmpl = (fs::temp_directory_path() / "gust-nssandbox-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    code_dir_ = root_ / "code";
    runtime_dir_ = root_ / "runtime";
    fs::create_directories(code_dir_);
    fs::create_directories(runtime_dir_);
    // A host secret next to the code: the sandbox must not reach it.
    std::ofstream(root_ / "secret") << "host-secret";
    std::ofstream(code_dir_ / "handler.txt") << "code";
    std::ofstream(runtime_dir_ / "bootstrap.txt") << "runtime";
    auto sandbox = makeNamespaceSandbox(options());
    ASSERT_TRUE(sandbox.ok()) << sandbox.error().message;
    sandbox_ = std::move(*sandbox);
  }
  void TearDown() override {
    sandbox_.reset();
    if (!root_.empty()) fs::remove_all(root_);
  }
  virtual NamespaceSandboxOptions options() { return {}; }

  SpawnSpec spec(std::vector<std::string> argv) {
    SpawnSpec s;
    s.argv = std::move(argv);
    s.env = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8"};
    s.code_dir = code_dir_;
    s.runtime_dir = runtime_dir_;
    return s;
  }
  SpawnSpec shell(const std::string& script) { return spec({"/bin/sh", "-c", script}); }
  SpawnSpec python(const std::string& code) { return spec({"/usr/bin/python3", "-I", "-c", code}); }

  struct Run {
    std::string out, err;
    int status = -1;
  };
  Run run(const SpawnSpec& s) {
    Run r;
    auto p = sandbox_->spawn(s);
    if (!p.ok()) {
      ADD_FAILURE() << p.error().message;
      return r;
    }
    r.out = readAll((*p)->stdoutFd());
    r.err = readAll((*p)->stderrFd(), 2s);
    r.status = (*p)->waitExit(20s).value_or(-1);
    return r;
  }

  fs::path root_, code_dir_, runtime_dir_;
  std::unique_ptr<Sandbox> sandbox_;
};

TEST_F(NamespaceSandboxTest, LayoutIsLambdas) {
  auto layout = sandbox_->layout(spec({"/bin/true"}));
  EXPECT_EQ(layout.task_root, "/var/task");
  EXPECT_EQ(layout.runtime_dir, "/var/runtime");
  EXPECT_EQ(layout.tmp_dir, "/tmp");
}

TEST_F(NamespaceSandboxTest, RootShowsOnlyTheSandboxTree) {
  auto r =
      run(shell("ls -a /; echo ---; cat /var/task/handler.txt /var/runtime/bootstrap.txt; "
                "echo; cat " +
                (root_ / "secret").string() + " 2>&1; ls /sys 2>&1; ls /root 2>&1; true"));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  std::istringstream in(r.out);
  std::set<std::string> top;
  for (std::string line; std::getline(in, line) && line != "---";) top.insert(line);
  for (const char* want : {"usr", "bin", "lib", "etc", "var", "tmp", "dev", "proc"})
    EXPECT_TRUE(top.count(want)) << want << " missing from " << r.out;
  for (const char* hidden : {"sys", "root", "home", "boot", "mnt", "opt", "srv", "run"})
    EXPECT_FALSE(top.count(hidden)) << hidden << " is visible";
  EXPECT_NE(r.out.find("coderuntime"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("host-secret"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No such file or directory"), std::string::npos) << r.out;
}

TEST_F(NamespaceSandboxTest, IdentityAndPrivileges) {
  auto r =
      run(python("import os, socket\n"
                 "print(f'uid={os.getuid()}')\nprint(f'gid={os.getgid()}')\n"
                 "print(f'groups={os.getgroups()}')\nprint(f'hostname={socket.gethostname()}')\n"
                 "print(f'cwd={os.getcwd()}')\nprint(f'ppid={os.getppid()}')\n"
                 "print(f'tmpdir={os.environ.get(\"TMPDIR\")}')\n"
                 "import pwd\nprint(f'user={pwd.getpwuid(os.getuid()).pw_name}')\n"
                 "for line in open('/proc/self/status'):\n"
                 "  k, _, v = line.partition(':')\n"
                 "  print(f'{k}={v.strip()}')\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  int uid = std::stoi(kv["uid"]);
  EXPECT_GE(uid, 200000);
  EXPECT_EQ(kv["gid"], kv["uid"]);
  EXPECT_EQ(kv["groups"], "[]");
  EXPECT_EQ(kv["user"], "sbx_user");
  EXPECT_EQ(kv["hostname"], "sandbox");
  EXPECT_EQ(kv["cwd"], "/var/task");
  EXPECT_EQ(kv["ppid"], "1");
  EXPECT_EQ(kv["tmpdir"], "/tmp");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(kv[set], "0000000000000000") << set;
  EXPECT_EQ(kv["NoNewPrivs"], "1");
  EXPECT_EQ(kv["Seccomp"], "2");
}

TEST_F(NamespaceSandboxTest, ProcShowsOnlyOwnProcessesAndFdsAreZeroToThree) {
  auto r = run(
      python("import os\n"
             "print('pids=' + ','.join(sorted(p for p in os.listdir('/proc') if p.isdigit())))\n"
             "print(f'self={os.getpid()}')\n"
             "fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n"
             "print('fds=' + ','.join(map(str, fds[:4])))\nprint(f'nfds={len(fds)}')\n"
             "for p in ('/proc/1/root/etc/passwd', '/proc/1/environ'):\n"
             "  try:\n    open(p).read(); print(p + '=read')\n"
             "  except OSError as e:\n    print(p + '=' + type(e).__name__)\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  EXPECT_EQ(kv["pids"], kv["self"]);
  EXPECT_EQ(kv["fds"], "0,1,2,3");
  EXPECT_EQ(kv["nfds"], "5");  // 0-3 and the directory being listed
  EXPECT_EQ(kv["/proc/1/root/etc/passwd"], "FileNotFoundError");
  EXPECT_EQ(kv["/proc/1/environ"], "FileNotFoundError");
}

TEST_F(NamespaceSandboxTest, OnlyTmpIsWritable) {
  auto r = run(python(
      "import os, errno\n"
      "for d in ('/', '/usr', '/var/task', '/var/runtime', '/etc', '/dev', '/proc', '/tmp'):\n"
      "  try:\n"
      "    open(os.path.join(d, 'x'), 'w').write('x'); print(f'{d}=ok')\n"
      "  except OSError as e:\n    print(f'{d}={errno.errorcode[e.errno]}')\n"
      "open('/dev/null', 'w').write('fine')\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  for (const char* d : {"/", "/usr", "/var/task", "/var/runtime", "/etc", "/dev"})
    EXPECT_TRUE(kv[d] == "EROFS" || kv[d] == "EACCES") << d << " gave " << kv[d];
  EXPECT_EQ(kv["/proc"], "ENOENT");  // procfs creates no files
  EXPECT_EQ(kv["/tmp"], "ok");
  EXPECT_FALSE(fs::exists(code_dir_ / "x"));
}

TEST_F(NamespaceSandboxTest, TmpFillsAtItsSize) {
  auto s = python(
      "import os\nn = 0\nchunk = b'x' * 65536\n"
      "try:\n"
      "  with open('/tmp/fill', 'wb') as f:\n"
      "    for _ in range(10000):\n      f.write(chunk); f.flush(); n += len(chunk)\n"
      "except OSError as e:\n  print(f'error={e.errno}')\n"
      "print(f'written={n}')\n");
  s.limits.tmp_bytes = 4 << 20;
  auto r = run(s);
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  EXPECT_EQ(kv["error"], std::to_string(ENOSPC));
  long written = std::stol(kv["written"]);
  EXPECT_LE(written, 4 << 20);
  EXPECT_GE(written, 3 << 20);
}

TEST_F(NamespaceSandboxTest, NoNetworkBeyondItsOwnLoopback) {
  // A listener on the host's loopback: the sandbox has its own, so it cannot reach this one.
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  auto r = run(
      python("import socket, errno\n"
             "print('ifaces=' + ','.join(n for _, n in socket.if_nameindex()))\n"
             "s = socket.socket(); s.settimeout(5)\n"
             "try:\n  s.connect(('127.0.0.1', " +
             std::to_string(port) +
             "))\n  print('host=connected')\n"
             "except OSError as e:\n  print('host=' + errno.errorcode.get(e.errno, str(e)))\n"
             "a = socket.socket(); a.bind(('127.0.0.1', 0)); a.listen(1)\n"
             "b = socket.create_connection(a.getsockname(), timeout=5); print('own=connected')\n"
             "try:\n  socket.socket(40, socket.SOCK_STREAM)\n  print('vsock=created')\n"
             "except OSError as e:\n  print('vsock=' + errno.errorcode[e.errno])\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  EXPECT_EQ(kv["ifaces"], "lo");
  EXPECT_EQ(kv["host"], "ECONNREFUSED");
  EXPECT_EQ(kv["own"], "connected");
  EXPECT_EQ(kv["vsock"], "EAFNOSUPPORT");
}

TEST_F(NamespaceSandboxTest, SeccompRefusesTheKernelSurface) {
  auto r = run(
      python("import ctypes, errno, os\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "def call(name, nr, *args):\n"
             "  rc = libc.syscall(nr, *args)\n"
             "  print(f'{name}=' + ('ok' if rc >= 0 else errno.errorcode[ctypes.get_errno()]))\n"
             "call('unshare_user', 272, 0x10000000)\n"
             "call('unshare_net', 272, 0x40000000)\n"
             "call('mount', 165, b'none', b'/tmp', b'tmpfs', 0, None)\n"
             "call('ptrace_attach', 101, 16, 1, 0, 0)\n"
             "call('setns', 308, 0, 0)\n"
             "call('bpf', 321, 0, 0, 0)\n"
             "call('io_uring_setup', 425, 1, 0)\n"
             "call('keyctl', 250, 0, 0)\n"
             "call('clone3', 435, 0, 0)\n"
             "call('clone_newuser', 56, 0x10000000 | 17, 0, 0, 0, 0)\n"
             "call('sethostname', 170, b'x', 1)\n"
             "call('settimeofday', 164, 0, 0)\n"
             "call('perf_event_open', 298, 0, 0, 0, 0, 0)\n"
             "call('userfaultfd', 323, 0)\n"
             "call('chroot', 161, b'/tmp')\n"
             "call('setuid0', 105, 0)\n"
             "pid = os.fork()\n"
             "if pid == 0:\n  os._exit(0)\n"
             "os.waitpid(pid, 0); print('fork=ok')\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  for (const char* name : {"unshare_user", "unshare_net", "mount", "ptrace_attach", "setns", "bpf",
                           "io_uring_setup", "keyctl", "clone_newuser", "sethostname",
                           "settimeofday", "perf_event_open", "userfaultfd", "chroot", "setuid0"})
    EXPECT_EQ(kv[name], "EPERM") << name;
  EXPECT_EQ(kv["clone3"], "ENOSYS");
  EXPECT_EQ(kv["fork"], "ok");
}

TEST_F(NamespaceSandboxTest, X32AbiIsKilled) {
  auto r = run(
      python("import ctypes\nlibc = ctypes.CDLL(None)\n"
             "print('before', flush=True)\nlibc.syscall(0x40000000 + 39)\nprint('survived')\n"));
  EXPECT_NE(r.out.find("before"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("survived"), std::string::npos);
  ASSERT_TRUE(WIFSIGNALED(r.status)) << r.status;
  EXPECT_EQ(WTERMSIG(r.status), SIGSYS);
}

TEST_F(NamespaceSandboxTest, ReportsTheWorkloadsExitStatus) {
  EXPECT_EQ(run(shell("exit 7")).status, 7 << 8);
  auto killed = run(shell("kill -9 $$"));
  ASSERT_TRUE(WIFSIGNALED(killed.status)) << killed.status;
  EXPECT_EQ(WTERMSIG(killed.status), SIGKILL);
  // kill(1) and kill(-1) from inside do not touch the init or the host.
  auto r = run(shell("kill -9 1; echo one=$?; kill -9 -1; echo all=$?; echo alive"));
  EXPECT_NE(r.out.find("alive"), std::string::npos) << r.out << r.err;
}

TEST_F(NamespaceSandboxTest, KillStopsEveryProcessAndTheDestructorReaps) {
  auto p = sandbox_->spawn(shell("(sleep 1000 &) ; sleep 1000 & echo started; wait"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  pid_t init = (*p)->pid();
  ASSERT_NE(readAll((*p)->stdoutFd(), 100ms).find("started"), std::string::npos);
  EXPECT_FALSE((*p)->exitStatus().has_value());
  (*p)->kill();
  auto status = (*p)->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  // The stdout pipe reaches EOF once no process of the sandbox holds it.
  EXPECT_EQ(readAll((*p)->stdoutFd(), 10s), "");
  p->reset();
  EXPECT_NE(::kill(init, 0), 0);
}

TEST_F(NamespaceSandboxTest, RuntimeApiListenerLivesInTheSandbox) {
  auto s = python(
      "import os, socket\n"
      "host, port = os.environ['AWS_LAMBDA_RUNTIME_API'].split(':')\n"
      "c = socket.create_connection((host, int(port)), timeout=10); c.sendall(b'hello')\n"
      "print(c.recv(10).decode())\n");
  s.runtime_api = true;
  auto p = sandbox_->spawn(s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  int listener = (*p)->runtimeApiListenFd();
  ASSERT_GE(listener, 0);
  EXPECT_TRUE(::fcntl(listener, F_GETFL) & O_NONBLOCK);
  pollfd pfd{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 20000), 1) << readAll((*p)->stderrFd(), 1s);
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  char buf[5];
  ASSERT_EQ(::recv(conn.get(), buf, 5, MSG_WAITALL), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_EQ(::send(conn.get(), "back", 4, 0), 4);
  EXPECT_EQ(readAll((*p)->stdoutFd()), "back\n");
  EXPECT_EQ((*p)->waitExit(10s), 0);
  // Without runtime_api there is no listener.
  auto plain = sandbox_->spawn(shell("true"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->runtimeApiListenFd(), -1);
}

TEST_F(NamespaceSandboxTest, SandboxesAreIsolatedFromEachOther) {
  // Two live sandboxes: different uids, different /tmp, separate abstract socket namespaces.
  auto a = sandbox_->spawn(
      python("import os, socket, sys\n"
             "open('/tmp/secret', 'w').write('a'); s = socket.socket(socket.AF_UNIX)\n"
             "s.bind('\\0gust-test'); print(os.getuid(), flush=True); sys.stdin.read()\n"
             "import time\ntime.sleep(1000)\n"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  std::string a_uid;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (a_uid.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline)
    a_uid += readAll((*a)->stdoutFd(), 100ms);
  ASSERT_NE(a_uid.find('\n'), std::string::npos) << readAll((*a)->stderrFd(), 1s);
  auto r =
      run(python("import os, socket\n"
                 "print(f'uid={os.getuid()}'); print(f'tmp={os.listdir(\"/tmp\")}')\n"
                 "s = socket.socket(socket.AF_UNIX)\n"
                 "try:\n  s.connect('\\0gust-test'); print('abstract=connected')\n"
                 "except OSError as e:\n  print('abstract=' + type(e).__name__)\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  EXPECT_NE(kv["uid"] + "\n", a_uid);
  EXPECT_EQ(kv["tmp"], "[]");
  EXPECT_EQ(kv["abstract"], "ConnectionRefusedError");
}

TEST_F(NamespaceSandboxTest, ErrorsNameTheCause) {
  auto missing = sandbox_->spawn(spec({"/var/task/no-such-binary"}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos)
      << missing.error().message;
  auto relative = sandbox_->spawn(spec({"sh"}));
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.error().code, ErrorCode::kInvalidArgument);
  auto s = shell("true");
  s.network = Network::kEgress;
  auto egress = sandbox_->spawn(s);  // this sandbox has no EgressNetwork
  ASSERT_FALSE(egress.ok());
  EXPECT_EQ(egress.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(egress.error().message.find("egress is not set up"), std::string::npos);
  auto gone = shell("true");
  gone.code_dir = root_ / "no-such-dir";
  auto no_code = sandbox_->spawn(gone);
  ASSERT_FALSE(no_code.ok());
  EXPECT_NE(no_code.error().message.find("no-such-dir"), std::string::npos);
}

TEST_F(NamespaceSandboxTest, UidsRotateAcrossSandboxes) {
  std::set<std::string> uids;
  for (int i = 0; i < 3; ++i) {
    auto r = run(shell("id -u"));
    ASSERT_EQ(r.status, 0) << r.err;
    uids.insert(r.out);
  }
  EXPECT_EQ(uids.size(), 3u);  // rotated, not reused at once
}

// Not a timed assertion: logs the cost of one spawn (clone to the workload's exec, which
// spawn() waits for) so regressions are visible in the test output.
TEST_F(NamespaceSandboxTest, SpawnCost) {
  std::vector<double> ms;
  for (int i = 0; i < 15; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto p = sandbox_->spawn(spec({"/bin/true"}));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ((*p)->waitExit(10s), 0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("namespace sandbox spawn (clone to exec), %zu runs: median %.2f ms, max %.2f ms\n",
              ms.size(), ms[ms.size() / 2], ms.back());
}

// With cgroups: the memory limit kills inside the sandbox and is reported; pids.max stops a
// fork bomb.
class CgroupNamespaceSandboxTest : public NamespaceSandboxTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the namespace sandbox needs root";
    // Per test process: ctest runs tests in parallel, and group ids repeat across processes.
    auto manager = CgroupManager::detect("gust-nssandbox-test-" + std::to_string(::getpid()));
    if (!manager.ok()) GTEST_SKIP() << "no usable cgroups: " << manager.error().message;
    manager_ = std::move(*manager);
    NamespaceSandboxTest::SetUp();
  }
  void TearDown() override {
    NamespaceSandboxTest::TearDown();
    manager_.reset();
  }
  NamespaceSandboxOptions options() override {
    NamespaceSandboxOptions o;
    o.cgroups = manager_.get();
    return o;
  }
  std::unique_ptr<CgroupManager> manager_;
};

TEST_F(CgroupNamespaceSandboxTest, MemoryBombIsOomKilledAndReported) {
  auto s = python(
      "chunks = []\n"
      "for _ in range(1000):\n  chunks.append(bytearray(16 << 20))\n"
      "print('survived')\n");
  s.limits.memory_mb = 128;
  auto p = sandbox_->spawn(s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(readAll((*p)->stdoutFd()), "");
  auto status = (*p)->waitExit(20s);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFSIGNALED(*status)) << *status;
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_TRUE((*p)->oomKilled());
  EXPECT_GT((*p)->peakMemoryBytes(), 64u << 20);
}

TEST_F(CgroupNamespaceSandboxTest, ForkBombStopsAtTheLimit) {
  auto s = python(
      "import os, time\nn = 0\npids = []\n"
      "for _ in range(500):\n"
      "  try:\n    pid = os.fork()\n"
      "  except OSError as e:\n    print(f'error={e.errno}'); break\n"
      "  if pid == 0:\n    time.sleep(100); os._exit(0)\n"
      "  n += 1\n"
      "print(f'forked={n}')\n");
  s.limits.max_processes = 20;
  auto r = run(s);
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  EXPECT_EQ(kv["error"], std::to_string(EAGAIN));
  EXPECT_LT(std::stoi(kv["forked"]), 20);
  EXPECT_GE(std::stoi(kv["forked"]), 10);
}

TEST_F(CgroupNamespaceSandboxTest, NormalRunStillWorks) {
  auto r = run(python("print('ok')"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
}

// The memory limit of the cgroup that host pid `pid` is in, as the host reads it.
std::string memoryLimitOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string v2_path;
  for (std::string line; std::getline(in, line);) {
    auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    std::istringstream names(controllers);
    for (std::string c; std::getline(names, c, ',');) {
      if (c == "memory") {
        std::ifstream f("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes");
        std::string value;
        f >> value;
        return value;
      }
    }
    if (controllers.empty()) v2_path = path;
  }
  std::ifstream f("/sys/fs/cgroup" + v2_path + "/memory.max");
  std::string value;
  f >> value;
  return value;
}

// A sandbox started without code (a pre-started instance) gets it, and its function's limits,
// while running.
TEST_F(CgroupNamespaceSandboxTest, CodeAndLimitsAttachedToARunningSandbox) {
  auto s = python(
      "import os\n"
      "os.write(3, ('empty=%d\\n' % len(os.listdir('/var/task'))).encode())\n"
      "os.read(3, 1)\n"
      "os.chdir('/var/task')\n"
      "print('code=' + open('handler.txt').read())\n"
      "try:\n  open('/var/task/new', 'w'); print('write=ok')\n"
      "except OSError as e:\n  print('write=%d' % e.errno)\n"
      "st = os.statvfs('/tmp')\n"
      "print('tmp=%d' % (st.f_blocks * st.f_frsize))\n"
      "print('inodes=%d' % st.f_files)\n");
  s.code_dir.clear();
  ASSERT_TRUE(sandbox_->canAttachCode());
  auto p = sandbox_->spawn(s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  Process& process = **p;
  std::string ready;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (ready.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{process.channelFd(), POLLIN, 0};
    if (::poll(&pfd, 1, 1000) <= 0) continue;
    char buf[64];
    ssize_t n = ::read(process.channelFd(), buf, sizeof buf);
    if (n <= 0) break;
    ready.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(ready, "empty=0\n");

  Limits limits;
  limits.memory_mb = 256;
  limits.tmp_bytes = 32ull << 20;
  auto attached = process.attachCode(code_dir_, limits);
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  EXPECT_EQ(memoryLimitOf(process.pid()), std::to_string(256ull << 20));
  EXPECT_FALSE(process.attachCode(code_dir_, limits).ok()) << "code is attached once";
  ASSERT_EQ(::write(process.channelFd(), "g", 1), 1);

  auto kv = keyValues(readAll(process.stdoutFd()));
  auto status = process.waitExit(20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << readAll(process.stderrFd(), 1s);
  EXPECT_EQ(kv["code"], "code");
  EXPECT_EQ(kv["write"], std::to_string(EROFS));
  EXPECT_EQ(kv["tmp"], std::to_string(32ull << 20));
  EXPECT_EQ(kv["inodes"], std::to_string((32ull << 20) / 8192));
}

// Network egress with real sandboxes: eth0 behind the host's NAT, with the host and the other
// sandboxes out of reach. Every probe targets loopback or the sandboxes' own addresses.
class EgressNamespaceSandboxTest : public NamespaceSandboxTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the namespace sandbox needs root";
    EgressOptions o;
    o.owner = "nssandboxtest" + std::to_string(::getpid());  // ctest runs tests in parallel
    o.dns = {"198.51.100.53"};  // written to resolv.conf, never queried
    o.pool_size = 2;
    auto egress = EgressNetwork::start(o);
    ASSERT_TRUE(egress.ok()) << egress.error().message;
    egress_ = std::move(*egress);
    NamespaceSandboxTest::SetUp();
  }
  void TearDown() override {
    NamespaceSandboxTest::TearDown();
    egress_.reset();
  }
  NamespaceSandboxOptions options() override {
    NamespaceSandboxOptions o;
    o.egress = egress_.get();
    return o;
  }
  SpawnSpec egressPython(const std::string& code) {
    SpawnSpec s = python(code);
    s.network = Network::kEgress;
    return s;
  }
  // The address of the sandbox's eth0 and its gateway, as the sandbox sees them.
  static constexpr const char* kProbeAddresses =
      "import fcntl, socket, struct\n"
      "def addr(name):\n"
      "  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "  return socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, struct.pack('256s', "
      "name.encode()))[20:24])\n"
      "def gateway():\n"
      "  for line in open('/proc/net/route').readlines()[1:]:\n"
      "    f = line.split()\n"
      "    if f[1] == '00000000': return socket.inet_ntoa(struct.pack('<I', int(f[2], 16)))\n"
      "def connect(host, port):\n"
      "  s = socket.socket(); s.settimeout(3)\n"
      "  try:\n    s.connect((host, port)); return 'connected'\n"
      "  except socket.timeout:\n    return 'timeout'\n"
      "  except OSError as e:\n    import errno; return errno.errorcode[e.errno]\n";
  std::unique_ptr<EgressNetwork> egress_;
};

TEST_F(EgressNamespaceSandboxTest, SandboxGetsEth0ARouteAndItsResolvers) {
  auto r = run(egressPython(std::string(kProbeAddresses) +
                            "print('ifaces=' + ','.join(sorted(n for _, n in "
                            "socket.if_nameindex())))\n"
                            "print('address=' + addr('eth0')); print('gateway=' + gateway())\n"
                            "print('resolv=' + open('/etc/resolv.conf').read().replace('\\n', "
                            "'|'))\n"
                            "a = socket.socket(); a.bind(('127.0.0.1', 0)); a.listen(1)\n"
                            "socket.create_connection(a.getsockname(), timeout=5)\n"
                            "print('loopback=connected')\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  EXPECT_EQ(kv["ifaces"], "eth0,lo");
  auto address = parseIpv4(kv["address"]);
  auto gateway = parseIpv4(kv["gateway"]);
  ASSERT_TRUE(address.ok() && gateway.ok()) << r.out;
  EXPECT_TRUE(egress_->block().contains(*address)) << kv["address"];
  EXPECT_EQ(*gateway + 1, *address);  // the /31's host end
  EXPECT_EQ(kv["resolv"], "# Generated by Gust (--egress-dns)|nameserver 198.51.100.53|");
  EXPECT_EQ(kv["loopback"], "connected");
}

TEST_F(EgressNamespaceSandboxTest, HostAndOtherSandboxesAreUnreachable) {
  // A listener on every address of the host.
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string port = std::to_string(ntohs(addr.sin_port));
  // Sandbox B listens on its eth0 and stays up.
  auto b = sandbox_->spawn(egressPython(std::string(kProbeAddresses) +
                                        "l = socket.socket(); l.bind(('0.0.0.0', 8080)); "
                                        "l.listen(4)\n"
                                        "print('address=' + addr('eth0'), flush=True)\n"
                                        "import time\ntime.sleep(1000)\n"));
  ASSERT_TRUE(b.ok()) << b.error().message;
  std::string b_out;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (b_out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline)
    b_out += readAll((*b)->stdoutFd(), 100ms);
  std::string b_address = keyValues(b_out)["address"];
  ASSERT_FALSE(b_address.empty()) << readAll((*b)->stderrFd(), 1s);
  auto r = run(egressPython(std::string(kProbeAddresses) +
                            "print('gateway=' + connect(gateway(), " + port +
                            "))\n"
                            "print('loopback=' + connect('127.0.0.1', " +
                            port +
                            "))\n"
                            "print('other=' + connect('" +
                            b_address +
                            "', 8080))\n"
                            "print('self=' + connect(addr('eth0'), " +
                            port + "))\n"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto kv = keyValues(r.out);
  EXPECT_EQ(kv["gateway"], "EHOSTUNREACH");   // the host end of its own veth
  EXPECT_EQ(kv["loopback"], "ECONNREFUSED");  // its own loopback, not the host's
  EXPECT_EQ(kv["other"], "EHOSTUNREACH");     // another sandbox
  EXPECT_EQ(kv["self"], "ECONNREFUSED");      // its own eth0 (nothing listens there)
}

TEST_F(EgressNamespaceSandboxTest, TheVethGoesWithTheLease) {
  std::string veth;
  {
    auto lease = egress_->take();
    ASSERT_TRUE(lease.ok()) << lease.error().message;
    veth = lease->hostVeth();
    EXPECT_NE(::if_nametoindex(veth.c_str()), 0u) << veth;
    EXPECT_TRUE(egress_->block().contains(lease->address()));
  }
  // The network's worker deletes it.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (::if_nametoindex(veth.c_str()) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(::if_nametoindex(veth.c_str()), 0u) << veth << " outlived its lease";
}

// Not a timed assertion: the cost of one egress spawn next to a plain one (clone to exec), with
// the pool of prepared namespaces refilled in between, logged for the test output.
TEST_F(EgressNamespaceSandboxTest, SpawnCost) {
  for (Network network : {Network::kNone, Network::kEgress}) {
    std::vector<double> ms;
    for (int i = 0; i < 15; ++i) {
      auto s = spec({"/bin/true"});
      s.network = network;
      std::this_thread::sleep_for(20ms);  // lets the pool refill: a pool hit, not a burst
      auto start = std::chrono::steady_clock::now();
      auto p = sandbox_->spawn(s);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      ASSERT_TRUE(p.ok()) << p.error().message;
      EXPECT_EQ((*p)->waitExit(10s), 0);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("namespace sandbox spawn, network %s, %zu runs: median %.2f ms, max %.2f ms\n",
                network == Network::kNone ? "none" : "egress", ms.size(), ms[ms.size() / 2],
                ms.back());
  }
}

TEST(SeccompPolicyTest, DefaultPolicyCompiles) {
  auto program = compileSeccompPolicy(defaultSeccompPolicy());
  ASSERT_TRUE(program.ok()) << program.error().message;
  EXPECT_GT((*program)->instructions(), 50u);
  EXPECT_LT((*program)->instructions(), 1000u);
}

TEST(SeccompPolicyTest, BadLinesAreNamed) {
  auto unknown = compileSeccompPolicy("# c\nmount EPERM\nno_such_call EPERM\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("line 3"), std::string::npos) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("no_such_call"), std::string::npos);
  auto action = compileSeccompPolicy("mount ALLOW\n");
  ASSERT_FALSE(action.ok());
  EXPECT_NE(action.error().message.find("unknown action"), std::string::npos);
  auto cond = compileSeccompPolicy("clone EPERM arg9&1\n");
  ASSERT_FALSE(cond.ok());
  EXPECT_NE(cond.error().message.find("bad condition"), std::string::npos);
  auto missing = compileSeccompPolicy("clone\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no action"), std::string::npos);
  EXPECT_TRUE(compileSeccompPolicy("socket EAFNOSUPPORT arg0==40 # vsock\n").ok());
}

}  // namespace
}  // namespace gust::sandbox
