// Control groups for sandboxes: one group per sandbox under a parent owned by Gust, with the
// memory limit (no swap), a pids limit and a CPU share proportional to memory, as Lambda does.
// Supports cgroup v2 (unified), v1 and the hybrid layout (v1 controllers + a cgroup2 mount),
// detected at start, picking for each controller the hierarchy where it is enabled.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::sandbox {

struct CgroupLimits {
  int memory_mb = 128;     // memory limit; swap is not allowed
  int max_processes = 64;  // pids.max
  // CPU share: proportional to memory (Lambda gives one vCPU at 1,769 MB). Implementations map
  // it to cpu.weight (v2) or cpu.shares (v1).
};

// One sandbox's group. The destructor kills every process left in it and removes it (never
// throws; failures are logged). Not thread-safe; owned by one sandbox process.
class Cgroup {
 public:
  virtual ~Cgroup() = default;
  // Moves `pid` into the group (every hierarchy on v1). Prefer creating the process inside the
  // group (cloneIntoFd) where possible: a migration can cost milliseconds on an idle host.
  virtual Status attach(pid_t pid) = 0;
  // v2: an fd of the group's directory for clone3(CLONE_INTO_CGROUP); -1 where unsupported.
  virtual int cloneIntoFd() const = 0;
  // True once the memory limit killed a process of the group.
  virtual bool oomKilled() = 0;
  // Peak memory use of the group in bytes (0 if the kernel does not report it).
  virtual uint64_t peakMemoryBytes() = 0;
  // Kills every process in the group (SIGKILL) and waits until it is empty (bounded wait).
  virtual void killAll() = 0;
  // Changes the group's limits in place (a pre-started sandbox given its function). Lowering the
  // memory limit below current use fails (v1, EBUSY) or reclaims/kills (v2).
  virtual Status update(const CgroupLimits& limits) {
    (void)limits;
    return Error::unavailable("this cgroup cannot change its limits");
  }
};

// Thread-safety: create() may be called concurrently.
class CgroupManager {
 public:
  virtual ~CgroupManager() = default;

  // Detects the layout and prepares the parent group `parent` (e.g. "gust") in each hierarchy.
  // kUnavailable, with what to do, if no usable memory and pids controllers are found or they
  // are not writable (not root, no delegation).
  static Result<std::unique_ptr<CgroupManager>> detect(std::string_view parent = "gust");

  // Creates the group `id` (unique among live sandboxes) with `limits`.
  virtual Result<std::unique_ptr<Cgroup>> create(std::string_view id,
                                                 const CgroupLimits& limits) = 0;
  // Removes groups left by an earlier run (e.g. after a kill -9 of the server), killing any
  // processes still in them. Called once at start.
  virtual Status cleanupStale() = 0;
  // e.g. "cgroup v1/hybrid: memory, pids, cpu" — for the startup log.
  virtual std::string describe() const = 0;
};

}  // namespace gust::sandbox
