#include "exe/engine_host.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runtime/runtime.h"
#include "sandbox/linux/cgroups.h"
#include "sandbox/linux/egress_network.h"
#include "sandbox/linux/namespace_sandbox.h"
#include "sandbox/linux/process_sandbox.h"

namespace gust::exe {
namespace {

namespace fs = std::filesystem;

// When Gust runs as root, instances run as an unprivileged user and must be able to reach their
// code and the runtime files under the data directory: every ancestor needs search (o+x)
// permission.
Status checkReachableBySandboxUser(const fs::path& dir) {
  if (::geteuid() != 0) return okStatus();
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      return Error::invalid(fmt::format(
          "{} is not searchable by other users (mode {:o}), so sandboxed functions cannot reach "
          "their code under {}; run `chmod o+x {}` or choose a --data-dir elsewhere (e.g. under "
          "/var/lib)",
          p.string(), st.st_mode & 07777, dir.string(), p.string()));
    }
    if (p == p.root_path()) break;
  }
  return okStatus();
}

}  // namespace

Status makeDir(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error::unavailable(fmt::format("cannot create {}: {}; choose a writable --data-dir",
                                          dir.string(), ec.message()));
  }
  if (::chmod(dir.c_str(), mode) != 0)
    return Error::fromErrno("cannot chmod " + dir.string(), errno);
  return okStatus();
}

Result<std::unique_ptr<EngineHost>> EngineHost::start(EngineHostOptions options) {
  const fs::path& data = options.data_dir;
  GUST_TRY(checkReachableBySandboxUser(data));
  GUST_TRY(makeDir(data / "runtime", 0755));
  GUST_TRY(makeDir(data / "sandboxes", 0711));
  GUST_TRY(runtime::installRuntimeFiles(data / "runtime"));

  std::unique_ptr<EngineHost> host(new EngineHost());
  // Every instance runs in a sandbox. `namespace` is the isolated one (namespaces, a read-only
  // root, cgroups, seccomp); `process` is a plain fork+exec for development only.
  if (options.sandbox == "namespace") {
    GUST_ASSIGN_OR_RETURN(host->cgroups_, sandbox::CgroupManager::detect(options.cgroup_parent));
    if (options.cleanup_stale_cgroups) {
      if (auto st = host->cgroups_->cleanupStale(); !st) spdlog::warn("{}", st.error().message);
    }
    sandbox::NamespaceSandboxOptions sandbox_options;
    sandbox_options.cgroups = host->cgroups_.get();
    sandbox_options.scratch_root = data / "sandboxes";
    sandbox_options.egress_unavailable = options.egress_off_reason;
    if (!options.egress_subnet.empty()) {
      // Host state (an nftables table, ip_forward) for as long as the host runs.
      sandbox::EgressOptions egress_options;
      egress_options.owner = options.egress_owner;
      GUST_ASSIGN_OR_RETURN(egress_options.range, sandbox::parseIpv4Net(options.egress_subnet));
      egress_options.dns = options.egress_dns;
      auto egress = sandbox::EgressNetwork::start(egress_options);
      if (egress) {
        host->egress_ = std::move(*egress);
        sandbox_options.egress = host->egress_.get();
        spdlog::info("{}", host->egress_->describe());
      } else {
        sandbox_options.egress_unavailable =
            "network egress is unavailable on this server: " + egress.error().message;
        spdlog::warn("{}; functions with network: egress will not start",
                     sandbox_options.egress_unavailable);
      }
    }
    GUST_ASSIGN_OR_RETURN(host->sandbox_, sandbox::makeNamespaceSandbox(sandbox_options));
    host->description_ =
        fmt::format("namespaces, read-only root, seccomp; {}", host->cgroups_->describe());
  } else {
    sandbox::ProcessSandboxOptions sandbox_options;
    sandbox_options.scratch_root = data / "sandboxes";
    host->sandbox_ = sandbox::makeProcessSandbox(sandbox_options);
    host->description_ = "process (no isolation: no namespaces, cgroups or seccomp)";
  }
  options.engine.runtime_dir = data / "runtime";
  host->engine_ = engine::makeEngine(std::move(options.engine), *host->sandbox_);
  return host;
}

EngineHost::~EngineHost() {
  if (engine_) engine_->shutdown();
  engine_.reset();
  sandbox_.reset();
  egress_.reset();
  cgroups_.reset();
}

}  // namespace gust::exe
