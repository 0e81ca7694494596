// Pure parsing for cgroup detection: /proc/self/mountinfo and /proc/self/cgroup text in, and out
// the plan of which hierarchy hosts each controller Gust needs and where our own group is in it.
// No I/O here, so every layout (v1, hybrid, pure v2, containers) is testable from canned text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::sandbox {

enum class CgroupVersion { kV1, kV2 };

// One cgroup filesystem mount from mountinfo.
struct CgroupMount {
  CgroupVersion version = CgroupVersion::kV1;
  std::string mount_point;               // e.g. "/sys/fs/cgroup/memory"
  std::string root;                      // the part of the hierarchy mounted there, e.g. "/"
  std::vector<std::string> controllers;  // v1 only: from the super options ("memory", "cpu")
};

// Parses mountinfo, returning the cgroup and cgroup2 mounts in order (octal escapes undone).
// Malformed lines are skipped: mountinfo comes from the kernel, and a line we cannot read is not
// one we could use.
std::vector<CgroupMount> parseCgroupMounts(std::string_view mountinfo);

// One line of /proc/<pid>/cgroup: "id:controllers:path" ("0::/path" is the v2 hierarchy).
struct ProcCgroupEntry {
  int hierarchy_id = 0;
  std::vector<std::string> controllers;  // empty for v2; "name=systemd" kept as is
  std::string path;                      // relative to the hierarchy (or cgroup namespace) root
};

std::vector<ProcCgroupEntry> parseProcCgroup(std::string_view text);

// A hierarchy Gust uses, with the controllers it was picked for.
struct CgroupHierarchy {
  CgroupVersion version = CgroupVersion::kV1;
  std::string own_dir;   // directory of our own process's group, e.g. "/sys/fs/cgroup/memory/a"
  std::string own_path;  // the same group relative to the hierarchy root ("/a")
  std::vector<std::string> controllers;  // those of kCgroupControllers placed here
};

struct CgroupPlan {
  std::vector<CgroupHierarchy> hierarchies;
  std::vector<std::string> missing;  // wanted controllers found nowhere
};

// The controllers Gust uses, in order. memory and pids are required; cpu is optional.
inline constexpr std::string_view kCgroupControllers[] = {"memory", "pids", "cpu"};

// Places each of kCgroupControllers in a hierarchy: a v1 hierarchy that has it bound, otherwise
// the v2 hierarchy if `v2_controllers` (the contents of our own v2 group's cgroup.controllers)
// lists it. A v1 binding wins because a controller bound to v1 is never usable in v2 (hybrid
// layout: the cgroup2 mount then only offers what v1 left over).
CgroupPlan planCgroups(const std::vector<CgroupMount>& mounts,
                       const std::vector<ProcCgroupEntry>& own,
                       const std::vector<std::string>& v2_controllers);

// The v2 group, if any, that planCgroups would use: where to read cgroup.controllers from before
// planning. Empty if there is no cgroup2 mount holding our group.
std::string v2OwnDir(const std::vector<CgroupMount>& mounts,
                     const std::vector<ProcCgroupEntry>& own);

// Splits whitespace-separated words ("memory pids cpu\n" → {"memory", "pids", "cpu"}).
std::vector<std::string> splitWords(std::string_view text);

// Parses "key value" lines (memory.events, memory.oom_control) and returns the value of `key`,
// or -1 if absent or not a number.
long long keyedValue(std::string_view text, std::string_view key);

// v1 cpu.shares and v2 cpu.weight for a memory size, proportional to memory as Lambda allots
// CPU: 1,769 MB is one vCPU, i.e. the default share (1024 shares, weight 100).
unsigned cpuSharesForMemory(int memory_mb);
unsigned cpuWeightForMemory(int memory_mb);

}  // namespace gust::sandbox
