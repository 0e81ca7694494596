// Outbound networking for sandboxes (Network::kEgress): a veth pair per sandbox, routed and
// NATed by the host, with the host itself and every other sandbox out of reach.
//
// start() claims the host state a server needs, all in one place, and the destructor gives it
// back: an nftables table of its own ("table inet gust_<owner>": input, forward, output and NAT
// rules, see egress_rules.h), a block of addresses for its sandboxes, and
// net.ipv4.ip_forward = 1 (put back to 0 by the last Gust server to stop, if it was 0 before the
// first). A server killed before its destructor ran leaves its table behind; the next start
// (of any server) finds the owner gone and deletes it. Its veths need no cleanup: they live and
// die with the sandboxes' network namespaces.
//
// Each sandbox gets a network namespace prepared in the background (a pool kept full by a
// thread of this class; another deletes the veths of finished sandboxes): a new netns
// whose eth0 is one end of a veth pair with its /31 address and default route, the host end up
// with the gateway address. The sandbox's init joins it with setns() instead of creating an
// empty netns, so egress costs the critical path nothing while the pool has one; when it is
// empty, take() prepares one in the calling thread.
//
// Thread-safety: take(), resolvConf() and describe() may be called concurrently.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "sandbox/linux/egress_rules.h"

namespace gust::sandbox {

struct EgressOptions {
  // Names the server's nftables table; one per data directory (like the cgroup parent), so a
  // restarted server recognises its predecessor's table.
  std::string owner;
  // Where the server's block is carved from, avoiding blocks of other live servers and every
  // network the host already routes. Sandbox addresses never leave the host (they are NATed),
  // but a destination inside this range is unreachable for sandboxes, so pick a range they do
  // not need.
  Ipv4Net range{0x0ac80000, 16};  // 10.200.0.0/16
  int block_prefix = 20;          // 2048 sandboxes with egress at once per server
  // Resolvers written to the sandboxes' /etc/resolv.conf; empty: the host's (see
  // sandboxResolvConf), re-read when /etc/resolv.conf changes.
  std::vector<std::string> dns;
  // Network namespaces kept prepared.
  int pool_size = 4;
  // Serialises the claims of servers starting and stopping at once.
  std::string lock_path = "/run/gust/egress.lock";
};

class EgressNetwork;

// One prepared network namespace and its veth pair, for one sandbox. The destructor hands the
// veth pair to the network's reaper thread, which deletes it (that waits for the kernel, tens of
// milliseconds) and only then gives the slot back, so a slot's addresses are never on two veths;
// once the network is gone, the destructor deletes it itself. The namespace lives while any
// process is in it. Thread-compatible; may outlive the EgressNetwork.
class EgressLease {
 public:
  EgressLease(EgressLease&&) noexcept;
  EgressLease& operator=(EgressLease&&) noexcept;
  EgressLease(const EgressLease&) = delete;
  EgressLease& operator=(const EgressLease&) = delete;
  ~EgressLease();

  int netnsFd() const { return netns_.get(); }
  uint32_t address() const { return addresses_.sandbox; }  // the sandbox's eth0
  uint32_t gateway() const { return addresses_.host; }     // the host end
  const std::string& hostVeth() const { return veth_; }

 private:
  friend class EgressNetwork;
  struct Shared;
  EgressLease(std::shared_ptr<Shared> shared, int slot, SlotAddresses addresses, std::string veth,
              UniqueFd netns);
  void release();

  std::shared_ptr<Shared> shared_;
  int slot_ = -1;
  SlotAddresses addresses_;
  std::string veth_;
  UniqueFd netns_;
};

class EgressNetwork {
 public:
  // Installs the host state (see the file comment). kUnavailable with what to do when the host
  // cannot: not root, no nft command, nftables missing from the kernel, no free block...
  static Result<std::unique_ptr<EgressNetwork>> start(EgressOptions options);
  // Stops the pool, deletes the pooled namespaces' veths, the server's table and (when it is the
  // last Gust server and it was so before) turns ip_forward back off.
  ~EgressNetwork();

  // A prepared namespace: from the pool, or made now when the pool is empty.
  Result<EgressLease> take();
  // The /etc/resolv.conf for sandboxes right now.
  std::string resolvConf();
  // One line for the server log: the block, the table, the resolvers.
  std::string describe();
  const Ipv4Net& block() const;
  const std::string& table() const;

  struct State;  // defined in egress_network.cc

 private:
  explicit EgressNetwork(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace gust::sandbox
