// What `gust serve` and `gust local invoke` share: the sandbox the user chose (namespace or
// process), the runtimes' files under the data directory, and an engine on them — created in
// dependency order and torn down in reverse.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace gust::sandbox {
class CgroupManager;
class EgressNetwork;
class Sandbox;
}  // namespace gust::sandbox

namespace gust::exe {

// Creates `dir` (and its parents) and sets its mode; the error says to choose a writable dir.
Status makeDir(const std::filesystem::path& dir, mode_t mode);

struct EngineHostOptions {
  std::filesystem::path data_dir;     // absolute; runtime/ and sandboxes/ are created under it
  std::string sandbox = "namespace";  // "namespace" (isolated, needs root) or "process"
  // The namespace sandbox's parent cgroup (in each hierarchy), and whether groups left there by
  // an earlier run are removed at start — only for a parent no other live process uses.
  std::string cgroup_parent;
  bool cleanup_stale_cgroups = true;
  // Network egress for the namespace sandbox (sandbox/linux/egress_network.h): the IPv4 range
  // its block of sandbox addresses comes from (validated by the caller), the sandboxes'
  // resolvers (empty: the host's) and the name of its nftables table (one per data dir, like
  // cgroup_parent). An empty range leaves the host untouched: functions with `network: egress`
  // then fail to start, saying `egress_off_reason`. A host that cannot do egress is no error
  // either: the reason is logged and given to those functions.
  std::string egress_subnet;
  std::vector<std::string> egress_dns;
  std::string egress_owner;
  std::string egress_off_reason =
      "network egress is not set up here; run the function under gust serve";
  engine::EngineOptions engine;  // runtime_dir is set by start()
};

class EngineHost {
 public:
  // kUnavailable (with what to do) when the sandbox cannot be set up; kInvalidArgument when the
  // data directory is out of the sandbox user's reach.
  static Result<std::unique_ptr<EngineHost>> start(EngineHostOptions options);
  // Shuts the engine down, then the sandbox and the cgroups go.
  ~EngineHost();
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  engine::Engine& engine() { return *engine_; }
  // One line for the log: which sandbox and which cgroups.
  const std::string& description() const { return description_; }
  bool isolated() const { return cgroups_ != nullptr; }

 private:
  EngineHost() = default;

  // Declared in the order they are made; destroyed in reverse.
  std::unique_ptr<sandbox::CgroupManager> cgroups_;  // null with the process sandbox
  std::unique_ptr<sandbox::EgressNetwork> egress_;   // null without egress
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<engine::Engine> engine_;
  std::string description_;
};

}  // namespace gust::exe
