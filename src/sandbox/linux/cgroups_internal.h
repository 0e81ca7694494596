// The second half of CgroupManager::detect(), exposed so tests can drive a hierarchy of their
// choosing (e.g. a controller-less cgroup2 mount, to exercise the v2 paths on a v1 host).
#pragma once

#include <memory>
#include <string_view>

#include "common/result.h"
#include "sandbox/linux/cgroup_layout.h"
#include "sandbox/linux/cgroups.h"

namespace gust::sandbox {

// Prepares `parent` under each hierarchy of `plan` and returns a manager over them. `kind`
// opens describe() ("cgroup v2").
Result<std::unique_ptr<CgroupManager>> makeCgroupManager(const CgroupPlan& plan,
                                                         std::string_view parent,
                                                         std::string_view kind);

}  // namespace gust::sandbox
