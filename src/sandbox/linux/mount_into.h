// Mounting into another process's mount namespace after it has started: used to give a
// pre-started (pooled) sandbox its function's code and /tmp size at assignment time, so that
// instances can be created ahead of time without knowing which function they will serve.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/result.h"

namespace gust::sandbox {

// Bind-mounts the host directory `source` read-only (nosuid, nodev) onto `target`, a path inside
// the mount namespace of the process behind `pidfd`. The detached mount is made in the caller's
// namespace (open_tree) and attached by a short-lived CLONE_VM|CLONE_VFORK child that joins the
// target namespace (setns) and calls move_mount; the caller's own namespaces never change, so it
// is safe in a multi-threaded server. `target` must be an existing directory.
Status bindReadOnlyInto(int pidfd, const std::filesystem::path& source,
                        const std::filesystem::path& target);

// Changes the size limit (and, unless 0, the inode limit) of the tmpfs mounted at `target`
// inside the namespace of `pidfd`.
Status resizeTmpfsIn(int pidfd, const std::filesystem::path& target, uint64_t bytes,
                     uint64_t inodes = 0);

}  // namespace gust::sandbox
