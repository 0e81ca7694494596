// The isolated Linux sandbox: each process runs in its own mount, pid, ipc, uts and network
// namespaces, on a read-only root built from a small tmpfs (the host's /usr read-only, a
// generated /etc, the code at /var/task, the runtime at /var/runtime, a private tmpfs /tmp, a
// minimal /dev, a fresh /proc that hides other users' processes, no /sys), as a per-sandbox
// unprivileged uid/gid with no capabilities, PR_SET_NO_NEW_PRIVS and the seccomp policy of
// src/sandbox/policy/. With a CgroupManager, each sandbox also gets its own cgroup (memory
// without swap, pids, cpu). Network::kNone gets an empty network namespace (loopback only);
// Network::kEgress joins one prepared by an EgressNetwork (eth0 routed and NATed by the host).
// The recipe and its reasons: docs/design/sandbox.md.
//
// A spec with an empty code_dir starts a generic sandbox whose /var/task is an empty mount
// point; Process::attachCode() later binds the code there (read-only, from the host, into the
// init's mount namespace) and applies the function's cgroup limits and /tmp size.
//
// Needs root (it creates namespaces and mounts). Each sandbox's pid 1 is a tiny init that
// reaps orphans and exits with the workload, which tears the namespaces down; it is killed
// (PR_SET_PDEATHSIG) when the *thread* that called spawn() exits, so call spawn() from
// long-lived threads.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"
#include "sandbox/sandbox.h"

namespace gust::sandbox {

class CgroupManager;
class EgressNetwork;

struct NamespaceSandboxOptions {
  // Each live sandbox runs as its own uid and gid, first_uid + slot for slot in [0, uid_slots).
  // Unique ids keep RLIMIT_NPROC per sandbox and stop cross-sandbox kill() and ptrace. The range
  // must not belong to any host user.
  uid_t first_uid = 200000;
  int uid_slots = 10000;
  // Where spawn() creates each sandbox's cgroup. Null runs without cgroups: no memory or CPU
  // limit, and processes are limited only by RLIMIT_NPROC. Only for hosts where cgroups are not
  // usable; the caller should say so loudly. Must outlive the sandbox and its processes.
  CgroupManager* cgroups = nullptr;
  // Where sandboxes with Network::kEgress get their network: a prepared network namespace with a
  // veth pair routed and NATed by the host (egress_network.h). Null: such spawns fail with
  // kUnavailable, saying `egress_unavailable`. Must outlive the sandbox.
  EgressNetwork* egress = nullptr;
  std::string egress_unavailable = "network egress is not set up on this server";
  std::string hostname = "sandbox";
  // Where the sandbox creates its (always empty) mount point for building roots; removed when
  // the sandbox is destroyed.
  std::filesystem::path scratch_root = "/tmp";
};

// kUnavailable (with what to do) when not root or the seccomp policy does not compile.
Result<std::unique_ptr<Sandbox>> makeNamespaceSandbox(NamespaceSandboxOptions options);

}  // namespace gust::sandbox
