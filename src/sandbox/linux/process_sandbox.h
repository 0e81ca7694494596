// The Linux sandbox of the walking skeleton: each instance is a separate process started by
// fork+exec, in a new session and process group, with a rebuilt environment, closed fds,
// rlimits, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG and — when Gust runs as root — an
// unprivileged uid/gid and an empty capability set. Namespaces, cgroups, a pivoted read-only
// root and seccomp come with the full sandbox recipe (docs/design/sandbox.md).
//
// Each process gets a private scratch dir (mode 0700, owned by the run-as user) under
// scratch_root, named in its TMPDIR and removed when the Process is destroyed; layout().tmp_dir
// is scratch_root. The process is killed (PR_SET_PDEATHSIG) when the *thread* that called
// spawn() exits, so call spawn() from long-lived threads. When the server is not root the
// process keeps the server's uid.
#pragma once

#include <memory>

#include "sandbox/sandbox.h"

namespace gust::sandbox {

struct ProcessSandboxOptions {
  // uid/gid the process runs as when the server is root (default: nobody/nogroup).
  uid_t run_as_uid = 65534;
  gid_t run_as_gid = 65534;
  // Scratch directory on the host; each spawn gets a private subdirectory removed at teardown.
  std::filesystem::path scratch_root = "/tmp";
};

std::unique_ptr<Sandbox> makeProcessSandbox(ProcessSandboxOptions options);

}  // namespace gust::sandbox
