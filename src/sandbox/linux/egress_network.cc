// Host state for network egress, and the pool of prepared network namespaces. nftables is driven
// through the `nft` command: it runs only at start and stop (a few milliseconds each), its input
// is the readable script of egress_rules.cc applied as one transaction, and the alternative
// (nftables' netlink protocol by hand, or libnftables) would add code or a library for no gain
// on any hot path. The per-sandbox work (veths, addresses, routes) is rtnetlink (rtnetlink.h).
#include "sandbox/linux/egress_network.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/defer.h"
#include "sandbox/linux/rtnetlink.h"

namespace gust::sandbox {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";
constexpr const char* kNoEgressHint = "or start gust serve with --egress-subnet off";

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::fromErrno("cannot read " + path, errno);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Status writeText(const std::string& path, std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("cannot open " + path, errno);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return Error::fromErrno("cannot write " + path, errno);
  return okStatus();
}

// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), 0 if it is gone
// or a zombie (a killed server its parent has not reaped yet).
uint64_t processStartTime(pid_t pid) {
  auto stat = readText(fmt::format("/proc/{}/stat", pid));
  if (!stat) return 0;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat->substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3 && (field == "Z" || field == "X")) return 0;
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

bool ownerAlive(const EgressClaim& c) {
  return c.pid > 0 && c.start_time != 0 && processStartTime(c.pid) == c.start_time;
}

std::string findNft() {
  for (const char* path : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs `nft ARGS` with `input` on its stdin; its stdout, or an error with its stderr.
Result<std::string> runNft(const std::string& nft, const std::vector<std::string>& args,
                           std::string_view input = {}) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return Error::fromErrno("cannot create pipes for nft", errno);
  UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  Defer destroy([&] { posix_spawn_file_actions_destroy(&actions); });
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  std::vector<std::string> argv_s{nft};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_s.size() + 1);
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string path_env = "PATH=/usr/sbin:/usr/bin:/sbin:/bin", lang_env = "LC_ALL=C";
  char* envp[] = {path_env.data(), lang_env.data(), nullptr};
  pid_t pid = 0;
  if (int e = ::posix_spawn(&pid, nft.c_str(), &actions, nullptr, argv.data(), envp); e != 0)
    return Error::fromErrno("cannot run " + nft, e);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  // The scripts are a few KiB, well under a pipe's buffer: write all, then read both outputs.
  size_t done = 0;
  while (done < input.size()) {
    ssize_t n = ::write(in_w.get(), input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  in_w.reset();
  std::string stdout_text, stderr_text;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  int open_count = 2;
  char buf[8192];
  while (open_count > 0) {
    if (::poll(fds, 2, 30000) <= 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? stdout_text : stderr_text).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
    return Error::unavailable(fmt::format("nft {} failed: {}", args.empty() ? "" : args[0],
                                          stderr_text.empty() ? "no message" : stderr_text));
  }
  return stdout_text;
}

// flock() on a file shared by every Gust server on the host.
class HostLock {
 public:
  static Result<HostLock> acquire(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("cannot open the lock file " + path, errno);
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return Error::fromErrno("cannot lock " + path, errno);
    }
    return HostLock(std::move(fd));
  }

 private:
  explicit HostLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

std::vector<uint32_t> hostAddresses() {
  std::vector<uint32_t> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    out.push_back(ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr));
  }
  ::freeifaddrs(list);
  return out;
}

// The networks the host routes (main table, /proc/net/route), but the default route and the
// routes of Gust's own veths, and every address of the host.
std::vector<Ipv4Net> hostNetworks() {
  std::vector<Ipv4Net> out;
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    if (!(f >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    if (iface.starts_with(kVethPrefix)) continue;
    // The file shows addresses as the kernel stores them (network order) in hex.
    uint32_t d = ntohl(static_cast<uint32_t>(std::strtoul(dest.c_str(), nullptr, 16)));
    uint32_t m = ntohl(static_cast<uint32_t>(std::strtoul(mask.c_str(), nullptr, 16)));
    if (m == 0) continue;
    out.push_back(networkOf(d, m));
  }
  for (uint32_t a : hostAddresses()) out.push_back(Ipv4Net{a, 32});
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Slots and the host's netlink socket, shared by the network and its leases (which may outlive
// it).

struct EgressLease::Shared {
  Shared(Ipv4Net b, RtNetlink nl, RtNetlink deleter_nl)
      : block(b),
        host(std::move(nl)),
        deleter(std::move(deleter_nl)),
        used(static_cast<size_t>(slotCount(b)), false) {}

  std::optional<int> acquire() {
    std::lock_guard lock(slots_mu);
    for (size_t i = 0; i < used.size(); ++i) {
      size_t slot = (next + i) % used.size();
      if (!used[slot]) {
        used[slot] = true;
        next = slot + 1;  // rotate: a just-freed address is not reused at once
        return static_cast<int>(slot);
      }
    }
    return std::nullopt;
  }
  // Deletes the slot's veth pair (if any) and frees the slot. Deleting a veth waits for the
  // kernel (RCU grace periods: tens of milliseconds), so while the network's reaper thread runs
  // it does that, off the caller's path (the teardown of an instance); the slot stays taken
  // until then.
  void release(int slot, std::string veth) {
    {
      std::lock_guard lock(work_mu);
      if (reaper_running) {
        doomed.emplace_back(slot, std::move(veth));
        work_cv.notify_all();
        return;
      }
    }
    deleteNow(slot, veth);
  }
  void deleteNow(int slot, const std::string& veth) {
    {
      std::lock_guard lock(delete_mu);
      if (auto st = deleter.deleteLink(veth); !st) spdlog::warn("egress: {}", st.error().message);
    }
    std::lock_guard lock(slots_mu);
    used[static_cast<size_t>(slot)] = false;
  }

  const Ipv4Net block;
  // Sockets in the host's network namespace: one to make veths, one to delete them, so a slow
  // delete never holds up a sandbox that is being prepared.
  std::mutex mu;
  RtNetlink host;  // guarded by mu
  std::mutex delete_mu;
  RtNetlink deleter;  // guarded by delete_mu
  std::mutex slots_mu;
  std::vector<bool> used;  // guarded by slots_mu
  size_t next = 0;         // guarded by slots_mu

  // The reaper's inbox (EgressNetwork::State::reaperLoop), and the filler's wake-ups.
  std::mutex work_mu;
  std::condition_variable work_cv;
  bool reaper_running = false;                     // guarded by work_mu
  std::deque<std::pair<int, std::string>> doomed;  // guarded by work_mu: veths to delete
};

EgressLease::EgressLease(std::shared_ptr<Shared> shared, int slot, SlotAddresses addresses,
                         std::string veth, UniqueFd netns)
    : shared_(std::move(shared)),
      slot_(slot),
      addresses_(addresses),
      veth_(std::move(veth)),
      netns_(std::move(netns)) {}

EgressLease::EgressLease(EgressLease&& o) noexcept
    : shared_(std::move(o.shared_)),
      slot_(std::exchange(o.slot_, -1)),
      addresses_(o.addresses_),
      veth_(std::move(o.veth_)),
      netns_(std::move(o.netns_)) {}

EgressLease& EgressLease::operator=(EgressLease&& o) noexcept {
  if (this != &o) {
    release();
    shared_ = std::move(o.shared_);
    slot_ = std::exchange(o.slot_, -1);
    addresses_ = o.addresses_;
    veth_ = std::move(o.veth_);
    netns_ = std::move(o.netns_);
  }
  return *this;
}

EgressLease::~EgressLease() { release(); }

void EgressLease::release() {
  netns_.reset();
  if (shared_ && slot_ >= 0) shared_->release(slot_, std::move(veth_));
  slot_ = -1;
  shared_.reset();
}

// ---------------------------------------------------------------------------------------------

struct EgressNetwork::State {
  EgressOptions options;
  std::string nft;
  EgressClaim claim;
  UniqueFd host_netns;
  std::shared_ptr<EgressLease::Shared> shared;
  std::vector<uint32_t> host_addresses;

  std::mutex resolv_mu;
  std::string resolv_text;          // guarded by resolv_mu
  std::string resolv_source;        // guarded by resolv_mu: the file it came from
  struct timespec resolv_mtime {};  // guarded by resolv_mu
  ino_t resolv_inode = 0;           // guarded by resolv_mu

  std::deque<EgressLease> pool;  // guarded by shared->work_mu
  bool stopping = false;         // guarded by shared->work_mu
  std::thread filler;
  std::thread reaper;

  // Prepares one network namespace in the calling thread (see the header comment).
  Result<EgressLease> prepare() {
    auto slot = shared->acquire();
    if (!slot)
      return Error{ErrorCode::kResourceExhausted,
                   fmt::format("all {} sandbox addresses of {} are in use; stop instances or give "
                               "each server a larger block",
                               slotCount(claim.block), claim.block.str())};
    SlotAddresses addresses = slotAddresses(claim.block, *slot);
    // Owns the slot from here: on any failure its destructor deletes what was made.
    EgressLease lease(shared, *slot, addresses, vethName(addresses), UniqueFd());
    // A veth of this name can only be left over from a server that had this block and was
    // killed moments ago (live servers' blocks never overlap): its namespace is still being torn
    // down by the kernel. Delete it now rather than fail.
    if (::if_nametoindex(lease.veth_.c_str()) != 0) {
      std::lock_guard lock(shared->delete_mu);
      GUST_TRY(shared->deleter.deleteLink(lease.veth_));
    }

    // 1. A new network namespace, entered by this thread only for what must be done from inside:
    //    its fd, a netlink socket in it, the ICMP echo sysctl, and eth0's index once the veth pair
    //    exists. Then straight back to the host's namespace.
    UniqueFd netns;
    Result<RtNetlink> inner = Error::internal("not opened");
    int inner_index = 0;
    {
      if (::unshare(CLONE_NEWNET) != 0)
        return Error::fromErrno("cannot create a network namespace for a sandbox", errno);
      Defer back([&] {
        GUST_CHECK(::setns(host_netns.get(), CLONE_NEWNET) == 0,
                   "cannot return to the host's network namespace");
      });
      netns = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      if (!netns) return Error::fromErrno("cannot open the sandbox's network namespace", errno);
      inner = RtNetlink::open();
      if (!inner) return inner.error();
      // Unprivileged ICMP echo sockets (ping) for everyone in this namespace: only the sandbox
      // lives here. Best effort: kernels without the sysctl just have no ping.
      if (auto st = writeText("/proc/sys/net/ipv4/ping_group_range", "0 2147483647"); !st)
        spdlog::debug("egress: {}", st.error().message);
      // 2. The veth pair (through the host's socket): the host end in the host's namespace,
      //    eth0 created straight in the sandbox's.
      {
        std::lock_guard lock(shared->mu);
        GUST_TRY(shared->host.createVethPair(lease.veth_, "eth0", netns.get()));
      }
      inner_index = static_cast<int>(::if_nametoindex("eth0"));
      if (inner_index == 0) return Error::fromErrno("cannot find the sandbox's eth0", errno);
    }
    int host_index = static_cast<int>(::if_nametoindex(lease.veth_.c_str()));
    if (host_index == 0) return Error::fromErrno("cannot find the veth " + lease.veth_, errno);
    {
      std::lock_guard lock(shared->mu);
      GUST_TRY(shared->host.disableIpv6AddressGeneration(host_index));
      GUST_TRY(shared->host.addAddress(host_index, addresses.host, 31));
      GUST_TRY(shared->host.setUp(host_index));
    }
    // 3. Inside: eth0 with its address, up, the host end as the default gateway; loopback up.
    constexpr int kLoopback = 1;  // the first device of every network namespace
    GUST_TRY(inner->disableIpv6AddressGeneration(inner_index));
    GUST_TRY(inner->addAddress(inner_index, addresses.sandbox, 31));
    GUST_TRY(inner->setUp(inner_index));
    GUST_TRY(inner->setUp(kLoopback));
    GUST_TRY(inner->addDefaultRoute(addresses.host));
    lease.netns_ = std::move(netns);
    return lease;
  }

  // Keeps the pool full.
  void fillerLoop() {
    std::unique_lock lock(shared->work_mu);
    for (;;) {
      shared->work_cv.wait(
          lock, [&] { return stopping || pool.size() < static_cast<size_t>(options.pool_size); });
      if (stopping) return;
      lock.unlock();
      auto lease = prepare();
      lock.lock();
      if (!lease) {
        spdlog::warn("egress: cannot prepare a network namespace: {}; retrying in 1 s",
                     lease.error().message);
        shared->work_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
        continue;
      }
      pool.push_back(std::move(*lease));
    }
  }

  // Deletes the veths of released leases (each waits for the kernel, so not in the filler).
  void reaperLoop() {
    std::unique_lock lock(shared->work_mu);
    for (;;) {
      shared->work_cv.wait(lock, [&] { return stopping || !shared->doomed.empty(); });
      if (shared->doomed.empty()) {      // and stopping
        shared->reaper_running = false;  // later releases delete their veths themselves
        return;
      }
      auto [slot, veth] = std::move(shared->doomed.front());
      shared->doomed.pop_front();
      lock.unlock();
      shared->deleteNow(slot, veth);
      lock.lock();
    }
  }
};

EgressNetwork::EgressNetwork(std::unique_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<EgressNetwork>> EgressNetwork::start(EgressOptions options) {
  if (::geteuid() != 0)
    return Error::unavailable(
        fmt::format("network egress needs root (it creates veths and nftables rules); run gust "
                    "serve as root, {}",
                    kNoEgressHint));
  if (options.owner.empty()) return Error::invalid("egress: the owner name must not be empty");
  if (options.block_prefix < options.range.prefix || options.block_prefix > 30)
    return Error::invalid(fmt::format(
        "egress: the range {} cannot hold a /{} block per server; give a range of /{} or larger",
        options.range.str(), options.block_prefix, options.block_prefix));
  auto state = std::make_unique<State>();
  state->options = options;
  state->nft = findNft();
  if (state->nft.empty())
    return Error::unavailable(
        fmt::format("network egress needs the nft command (nftables), which is not installed; "
                    "install it (apt-get install nftables, or tools/install-deps.sh), {}",
                    kNoEgressHint));
  if (::access(kIpForward, W_OK) != 0)
    return Error::unavailable(
        fmt::format("network egress needs a writable {} (this kernel has no IPv4 forwarding?), {}",
                    kIpForward, kNoEgressHint));

  std::string table = egressTableName(options.owner);
  {
    GUST_ASSIGN_OR_RETURN(HostLock lock, HostLock::acquire(options.lock_path));
    auto ruleset = runNft(state->nft, {"list", "ruleset"});
    if (!ruleset)
      return Error::unavailable(fmt::format(
          "network egress needs nftables in the kernel (CONFIG_NF_TABLES, NAT, conntrack): {}; {}",
          ruleset.error().message, kNoEgressHint));
    auto current = readText(kIpForward);
    if (!current) return current.error();
    int forward_now = current->starts_with("1") ? 1 : 0;
    int forward_was = forward_now;
    std::vector<std::string> stale;
    std::vector<Ipv4Net> taken = hostNetworks();
    for (const auto& c : parseClaims(*ruleset)) {
      if (c.pid > 0 && c.ip_forward_was == 0) forward_was = 0;  // inherit the original value
      bool alive = ownerAlive(c);
      if (alive && c.table == table)
        return Error::unavailable(fmt::format(
            "another gust server (pid {}) uses this data directory's egress table inet {}; stop "
            "it first",
            c.pid, table));
      if (alive) {
        taken.push_back(c.block);
      } else {
        stale.push_back(c.table);
      }
    }
    auto block = chooseBlock(options.range, options.block_prefix, taken);
    if (!block)
      return Error::unavailable(fmt::format(
          "network egress: no /{} block of {} is free (other Gust servers or host routes use "
          "them); choose another range with --egress-subnet, {}",
          options.block_prefix, options.range.str(), kNoEgressHint));
    state->claim =
        EgressClaim{table, *block, ::getpid(), processStartTime(::getpid()), forward_was};
    if (auto st =
            runNft(state->nft, {"-f", "-"}, egressRuleset(state->claim, stale, forward_was == 0));
        !st)
      return Error::unavailable(
          fmt::format("cannot install the egress rules (nft table inet {}): "
                      "{}; the kernel may lack nftables NAT or reject; {}",
                      table, st.error().message, kNoEgressHint));
    if (!stale.empty())
      spdlog::info("egress: removed the nftables tables of stopped servers: {}",
                   fmt::join(stale, ", "));
    if (forward_now == 0) {
      if (auto st = writeText(kIpForward, "1"); !st) {
        (void)runNft(state->nft, {"-f", "-"}, deleteTablesScript({table}));
        return Error::unavailable(fmt::format("cannot turn on IPv4 forwarding: {}; {}",
                                              st.error().message, kNoEgressHint));
      }
      spdlog::info("egress: turned on net.ipv4.ip_forward (off again when the last server stops)");
    }
  }

  // Cleanup from here on is the destructor's.
  auto network = std::unique_ptr<EgressNetwork>(new EgressNetwork(std::move(state)));
  State& s = *network->state_;
  s.host_netns = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!s.host_netns) return Error::fromErrno("cannot open the host's network namespace", errno);
  GUST_ASSIGN_OR_RETURN(RtNetlink host, RtNetlink::open());
  GUST_ASSIGN_OR_RETURN(RtNetlink deleter, RtNetlink::open());
  s.shared =
      std::make_shared<EgressLease::Shared>(s.claim.block, std::move(host), std::move(deleter));
  s.host_addresses = hostAddresses();
  (void)network->resolvConf();      // logs what sandboxes will use
  s.shared->reaper_running = true;  // no other thread sees it yet
  s.reaper = std::thread([&s] { s.reaperLoop(); });
  if (s.options.pool_size > 0) s.filler = std::thread([&s] { s.fillerLoop(); });
  return network;
}

EgressNetwork::~EgressNetwork() {
  State& s = *state_;
  std::deque<EgressLease> pool;
  if (s.shared) {
    {
      std::lock_guard lock(s.shared->work_mu);
      s.stopping = true;
      pool.swap(s.pool);
    }
    s.shared->work_cv.notify_all();
    if (s.filler.joinable()) s.filler.join();
    if (s.reaper.joinable()) s.reaper.join();  // after the veths it was given are deleted
  }
  pool.clear();    // deletes the pooled veths, now synchronously
  s.pool.clear();  // one the filler may have added while stopping
  if (s.nft.empty() || s.claim.table.empty()) return;
  auto lock = HostLock::acquire(s.options.lock_path);
  if (!lock) spdlog::warn("egress: {}; removing the rules without it", lock.error().message);
  std::vector<std::string> remove{s.claim.table};
  bool others_alive = false;
  if (auto ruleset = runNft(s.nft, {"list", "ruleset"})) {
    for (const auto& c : parseClaims(*ruleset)) {
      if (c.table == s.claim.table) continue;
      if (ownerAlive(c)) {
        others_alive = true;
      } else {
        remove.push_back(c.table);
      }
    }
  }
  if (auto st = runNft(s.nft, {"-f", "-"}, deleteTablesScript(remove)); !st)
    spdlog::warn(
        "egress: cannot remove the nftables table inet {}: {}; remove it with `nft delete "
        "table inet {}`",
        s.claim.table, st.error().message, s.claim.table);
  if (!others_alive && s.claim.ip_forward_was == 0) {
    if (auto st = writeText(kIpForward, "0"); !st) {
      spdlog::warn("egress: cannot turn net.ipv4.ip_forward back off: {}", st.error().message);
    } else {
      spdlog::info("egress: turned net.ipv4.ip_forward back off");
    }
  }
}

Result<EgressLease> EgressNetwork::take() {
  {
    std::lock_guard lock(state_->shared->work_mu);
    if (!state_->pool.empty()) {
      EgressLease lease = std::move(state_->pool.front());
      state_->pool.pop_front();
      state_->shared->work_cv.notify_all();
      return lease;
    }
  }
  return state_->prepare();
}

std::string EgressNetwork::resolvConf() {
  State& s = *state_;
  std::lock_guard lock(s.resolv_mu);
  if (!s.options.dns.empty()) {
    if (s.resolv_text.empty()) s.resolv_text = resolvConfFor(s.options.dns).text;
    return s.resolv_text;
  }
  struct stat st {};
  if (::stat("/etc/resolv.conf", &st) == 0 && st.st_ino == s.resolv_inode &&
      st.st_mtim.tv_sec == s.resolv_mtime.tv_sec && st.st_mtim.tv_nsec == s.resolv_mtime.tv_nsec)
    return s.resolv_text;
  s.resolv_inode = st.st_ino;
  s.resolv_mtime = st.st_mtim;
  auto host = readText("/etc/resolv.conf");
  SandboxResolvConf conf = sandboxResolvConf(host.ok() ? *host : "", s.host_addresses);
  std::string source = "/etc/resolv.conf";
  // systemd-resolved: the host's file names its local stub; the upstream servers are here.
  if (conf.nameservers.empty()) {
    if (auto upstream = readText("/run/systemd/resolve/resolv.conf")) {
      SandboxResolvConf alt = sandboxResolvConf(*upstream, s.host_addresses);
      if (!alt.nameservers.empty()) {
        conf = std::move(alt);
        source = "/run/systemd/resolve/resolv.conf";
      }
    }
  }
  if (conf.nameservers.empty()) {
    spdlog::warn(
        "egress: sandboxes get no DNS resolver: the host's ({}) are unreachable from a "
        "sandbox; pass --egress-dns with resolvers beyond the host",
        conf.dropped.empty() ? "none" : fmt::format("{}", fmt::join(conf.dropped, ", ")));
  } else if (!conf.dropped.empty()) {
    spdlog::info("egress: sandbox resolvers from {}: {} (left out: {})", source,
                 fmt::join(conf.nameservers, ", "), fmt::join(conf.dropped, ", "));
  }
  s.resolv_text = std::move(conf.text);
  s.resolv_source = source;
  return s.resolv_text;
}

std::string EgressNetwork::describe() {
  std::string resolv = resolvConf();
  std::vector<std::string> servers;
  std::istringstream in(resolv);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("nameserver ")) servers.push_back(line.substr(11));
  return fmt::format("egress: sandboxes in {} behind NAT (nftables table inet {}), DNS {}",
                     state_->claim.block.str(), state_->claim.table,
                     servers.empty() ? "none" : fmt::format("{}", fmt::join(servers, ", ")));
}

const Ipv4Net& EgressNetwork::block() const { return state_->claim.block; }
const std::string& EgressNetwork::table() const { return state_->claim.table; }

}  // namespace gust::sandbox
