// The isolation boundary around one function instance. The engine asks a Sandbox to start a
// process; the Sandbox decides how it is contained. Every instance lives in its own sandbox,
// never in the server process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace gust::sandbox {

struct Limits {
  int memory_mb = 128;  // the memory cgroup limit, no swap; CPU share is proportional to it
  int max_processes = 64;
  int max_open_files = 1024;
  uint64_t tmp_bytes = 512ull << 20;  // size of the private /tmp
};

// What a sandboxed process may reach on the network.
enum class Network {
  kNone,    // loopback only, inside its own network namespace
  kEgress,  // outbound connections; the host's own addresses and other sandboxes unreachable
};

// What to run. Paths in argv/env are the paths as seen inside the sandbox (see Layout).
struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path inside the sandbox
  // The complete environment, "KEY=VALUE"; nothing is inherited from the server. The sandbox
  // only sets TMPDIR (replacing any given) when it gives the process a private scratch dir.
  std::vector<std::string> env;
  // Host directory with the function's code (read-only). Empty: the code is attached later
  // (Process::attachCode); the task root is then an empty directory until it is, and the process
  // gets file size limits fit for the largest /tmp, since its function is not known yet.
  std::filesystem::path code_dir;
  std::filesystem::path runtime_dir;  // host directory with the runtime's bootstrap (read-only)
  Limits limits;
  Network network = Network::kNone;
  // Custom runtimes: the sandbox creates a listening TCP socket that the process reaches from
  // inside (the namespace sandbox binds 127.0.0.1:9001 in the sandbox's network namespace), sets
  // AWS_LAMBDA_RUNTIME_API=<host:port> in the environment, and hands the listener to the host
  // (Process::runtimeApiListenFd), which serves the Lambda Runtime API on it.
  bool runtime_api = false;
  // Lambda's API for the function itself (cascading invocations): the sandbox creates a listening
  // TCP socket that only this process reaches (the namespace sandbox binds 127.0.0.1:9002 in the
  // sandbox's network namespace; the development sandbox a free port on the host's loopback,
  // which any local process reaches), sets AWS_ENDPOINT_URL_LAMBDA=http://<host:port> in the
  // environment, and hands the listener to the host (Process::lambdaApiListenFd), which serves
  // Invoke on it on behalf of this process's function.
  bool lambda_api = false;
};

// Where the sandbox makes SpawnSpec's directories visible to the process it starts.
struct Layout {
  std::filesystem::path task_root;    // the code_dir as seen inside (Lambda: /var/task)
  std::filesystem::path runtime_dir;  // the runtime_dir as seen inside (Lambda: /var/runtime)
  // Scratch space the function may write. A sandbox may give each process a private directory
  // beneath it, created by spawn(), and then names that directory in the TMPDIR variable.
  std::filesystem::path tmp_dir;
};

// A running sandboxed process. The destructor kills every process of the sandbox and reaps them
// (never throws). Not thread-safe: one owner (an engine instance) uses it at a time, except that
// kill() may be called from any thread while the owner does I/O on the fds (e.g. at shutdown).
class Process {
 public:
  virtual ~Process() = default;

  virtual pid_t pid() const = 0;
  // The host end of the control channel (a SOCK_STREAM socketpair); the process has the other end
  // as fd 3. Owned by the Process.
  virtual int channelFd() const = 0;
  // Read ends of the process's stdout and stderr (non-blocking). Owned by the Process.
  virtual int stdoutFd() const = 0;
  virtual int stderrFd() const = 0;
  // Kills every process of the sandbox now (idempotent).
  virtual void kill() = 0;
  // Non-blocking: the exit status (as from waitpid) if the main process has exited.
  virtual std::optional<int> exitStatus() = 0;
  // Like exitStatus(), but waits up to `timeout` for the main process to exit (e.g. after its
  // channel reached EOF, to report how it ended).
  virtual std::optional<int> waitExit(std::chrono::milliseconds timeout) = 0;
  // True once the sandbox's memory limit has killed one of its processes (a cgroup OOM kill).
  // Sandboxes without a memory cgroup never report one.
  virtual bool oomKilled() { return false; }
  // The sandbox's peak memory use in bytes (for Lambda's "Max Memory Used"), 0 if unknown.
  virtual uint64_t peakMemoryBytes() { return 0; }
  // With SpawnSpec::runtime_api: the listening socket (non-blocking, owned by the Process);
  // otherwise -1.
  virtual int runtimeApiListenFd() const { return -1; }
  // With SpawnSpec::lambda_api: the listening socket (blocking, owned by the Process; a server
  // that needs it beyond the Process's life duplicates it) and the URL the process reaches it
  // at, as in its AWS_ENDPOINT_URL_LAMBDA; otherwise -1 and empty.
  virtual int lambdaApiListenFd() const { return -1; }
  virtual std::string lambdaApiEndpoint() const { return {}; }
  // For a process spawned with an empty code_dir (Sandbox::canAttachCode): makes `code_dir`
  // visible read-only at the layout's task root and applies `limits` (memory, processes, /tmp
  // size) to the running sandbox. Call once, before the process is told to load any code; on
  // error the process must be discarded. kUnavailable where unsupported.
  virtual Status attachCode(const std::filesystem::path& code_dir, const Limits& limits) {
    (void)code_dir;
    (void)limits;
    return Error::unavailable("this sandbox cannot attach code to a running process");
  }
};

// Thread-safety: spawn() may be called concurrently.
class Sandbox {
 public:
  virtual ~Sandbox() = default;
  virtual Layout layout(const SpawnSpec& spec) const = 0;
  virtual Result<std::unique_ptr<Process>> spawn(const SpawnSpec& spec) = 0;
  // True if spawn() accepts an empty code_dir and its processes implement attachCode(): the
  // engine then keeps pre-started generic instances.
  virtual bool canAttachCode() const { return false; }
};

}  // namespace gust::sandbox
