#include "sandbox/linux/cgroup_layout.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace gust::sandbox {
namespace {

constexpr int kLambdaMbPerVcpu = 1769;

std::vector<std::string_view> splitOn(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescapeOctal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto is_oct = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && is_oct(s[i + 1]) && is_oct(s[i + 2]) &&
        is_oct(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The directory of group `path` (relative to the hierarchy root) in a mount of that hierarchy,
// or "" if the mount does not show it (a subtree mounted elsewhere).
std::string dirInMount(const CgroupMount& m, std::string_view path) {
  std::string_view root = m.root;
  if (root == "/") return path == "/" ? m.mount_point : m.mount_point + std::string(path);
  if (path == root) return m.mount_point;
  if (path.size() > root.size() && path.substr(0, root.size()) == root &&
      path[root.size()] == '/') {
    return m.mount_point + std::string(path.substr(root.size()));
  }
  return "";
}

}  // namespace

std::vector<std::string> splitWords(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::vector<CgroupMount> parseCgroupMounts(std::string_view mountinfo) {
  std::vector<CgroupMount> out;
  for (std::string_view line : splitOn(mountinfo, '\n')) {
    // id parent maj:min root mount_point options [optional...] - fstype source super_options
    std::vector<std::string> f = splitWords(line);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 4 || dash - f.begin() < 6) continue;
    const std::string& fstype = dash[1];
    CgroupMount m;
    if (fstype == "cgroup2") {
      m.version = CgroupVersion::kV2;
    } else if (fstype == "cgroup") {
      m.version = CgroupVersion::kV1;
      for (std::string_view opt : splitOn(dash[3], ',')) {
        if (opt.empty() || opt == "rw" || opt == "ro" || opt.find('=') != std::string_view::npos)
          continue;
        // Mount options that are not controllers.
        if (opt == "noprefix" || opt == "clone_children" || opt == "xattr" ||
            opt == "cpuset_v2_mode" || opt == "favordynmods")
          continue;
        m.controllers.emplace_back(opt);
      }
    } else {
      continue;
    }
    m.root = unescapeOctal(f[3]);
    m.mount_point = unescapeOctal(f[4]);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<ProcCgroupEntry> parseProcCgroup(std::string_view text) {
  std::vector<ProcCgroupEntry> out;
  for (std::string_view line : splitOn(text, '\n')) {
    if (line.empty()) continue;
    // The path may itself contain ':', so split only on the first two.
    size_t a = line.find(':');
    if (a == std::string_view::npos) continue;
    size_t b = line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    ProcCgroupEntry e;
    std::string_view id = line.substr(0, a);
    if (std::from_chars(id.data(), id.data() + id.size(), e.hierarchy_id).ec != std::errc{})
      continue;
    std::string_view ctl = line.substr(a + 1, b - a - 1);
    if (!ctl.empty()) {
      for (std::string_view c : splitOn(ctl, ',')) e.controllers.emplace_back(c);
    }
    e.path = std::string(line.substr(b + 1));
    // A group removed under us reads "/path (deleted)" in some kernels; it is unusable anyway.
    out.push_back(std::move(e));
  }
  return out;
}

std::string v2OwnDir(const std::vector<CgroupMount>& mounts,
                     const std::vector<ProcCgroupEntry>& own) {
  auto e = std::find_if(own.begin(), own.end(), [](const ProcCgroupEntry& x) {
    return x.hierarchy_id == 0 && x.controllers.empty();
  });
  if (e == own.end()) return "";
  for (const CgroupMount& m : mounts) {
    if (m.version != CgroupVersion::kV2) continue;
    std::string dir = dirInMount(m, e->path);
    if (!dir.empty()) return dir;
  }
  return "";
}

CgroupPlan planCgroups(const std::vector<CgroupMount>& mounts,
                       const std::vector<ProcCgroupEntry>& own,
                       const std::vector<std::string>& v2_controllers) {
  CgroupPlan plan;
  auto hierarchy_for = [&](CgroupVersion version, const std::string& own_dir,
                           const std::string& own_path) -> CgroupHierarchy& {
    for (CgroupHierarchy& h : plan.hierarchies) {
      if (h.own_dir == own_dir) return h;
    }
    plan.hierarchies.push_back({version, own_dir, own_path, {}});
    return plan.hierarchies.back();
  };
  for (std::string_view controller : kCgroupControllers) {
    bool placed = false;
    // v1: the /proc/self/cgroup line naming the controller gives our group in that hierarchy;
    // a mount binding the same controller shows it.
    for (const ProcCgroupEntry& e : own) {
      if (e.hierarchy_id == 0 || !contains(e.controllers, controller)) continue;
      for (const CgroupMount& m : mounts) {
        if (m.version != CgroupVersion::kV1 || !contains(m.controllers, controller)) continue;
        std::string dir = dirInMount(m, e.path);
        if (dir.empty()) continue;
        hierarchy_for(CgroupVersion::kV1, dir, e.path).controllers.emplace_back(controller);
        placed = true;
        break;
      }
      break;
    }
    if (!placed && contains(v2_controllers, controller)) {
      std::string dir = v2OwnDir(mounts, own);
      if (!dir.empty()) {
        auto e = std::find_if(own.begin(), own.end(),
                              [](const ProcCgroupEntry& x) { return x.hierarchy_id == 0; });
        hierarchy_for(CgroupVersion::kV2, dir, e->path).controllers.emplace_back(controller);
        placed = true;
      }
    }
    if (!placed) plan.missing.emplace_back(controller);
  }
  return plan;
}

long long keyedValue(std::string_view text, std::string_view key) {
  for (std::string_view line : splitOn(text, '\n')) {
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ')
      continue;
    std::string_view v = line.substr(key.size() + 1);
    long long out = 0;
    if (std::from_chars(v.data(), v.data() + v.size(), out).ec != std::errc{}) return -1;
    return out;
  }
  return -1;
}

unsigned cpuSharesForMemory(int memory_mb) {
  // The kernel's minimum is 2.
  long long shares = static_cast<long long>(std::max(memory_mb, 0)) * 1024 / kLambdaMbPerVcpu;
  return static_cast<unsigned>(std::clamp<long long>(shares, 2, 262144));
}

unsigned cpuWeightForMemory(int memory_mb) {
  long long weight = static_cast<long long>(std::max(memory_mb, 0)) * 100 / kLambdaMbPerVcpu;
  return static_cast<unsigned>(std::clamp<long long>(weight, 1, 10000));
}

}  // namespace gust::sandbox
