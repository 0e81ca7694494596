// The pure parts of network egress (egress_network.h): IPv4 address arithmetic, how a server
// claims its block of sandbox addresses, the nftables ruleset it installs, and the resolv.conf
// its sandboxes get. No system calls here, so all of it is unit tested.
//
// Addressing: every server takes one block (default a /20) out of a range (default
// 10.200.0.0/16) that no other live server and no host route uses. Slot s of the block is a /31
// point-to-point link: the host end of the sandbox's veth pair is block + 2s, the sandbox's eth0
// is block + 2s + 1, and the host end is the sandbox's default gateway. Every host-side veth is
// named "gst" + the host end's address in hex, so names never collide between live servers and
// one wildcard ("gst*") matches every Gust sandbox on the host, whichever server made it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::sandbox {

// The prefix of every host-side sandbox veth (see vethName).
inline constexpr std::string_view kVethPrefix = "gst";

// An IPv4 network; addresses in host byte order.
struct Ipv4Net {
  uint32_t address = 0;  // the first address; host bits are zero
  int prefix = 32;

  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  uint32_t last() const { return static_cast<uint32_t>(address + size() - 1); }
  bool contains(uint32_t a) const { return a >= address && a <= last(); }
  bool overlaps(const Ipv4Net& o) const { return address <= o.last() && o.address <= last(); }
  std::string str() const;
  bool operator==(const Ipv4Net&) const = default;
};

// "a.b.c.d" (strict: four decimal parts, no leading zeros beyond "0").
Result<uint32_t> parseIpv4(std::string_view text);
std::string ipv4String(uint32_t address);
// "a.b.c.d/n"; the host bits must be zero.
Result<Ipv4Net> parseIpv4Net(std::string_view text);
// The network of `mask` (contiguous, host byte order) around `address`.
Ipv4Net networkOf(uint32_t address, uint32_t mask);

// The two ends of slot `slot` of a block (see the file comment).
struct SlotAddresses {
  uint32_t host = 0;     // the host end of the veth pair, the sandbox's gateway
  uint32_t sandbox = 0;  // the sandbox's eth0
};
inline int slotCount(const Ipv4Net& block) { return static_cast<int>(block.size() / 2); }
SlotAddresses slotAddresses(const Ipv4Net& block, int slot);
// The host-side veth of a slot: "gst" + 8 hex digits (11 characters, under IFNAMSIZ).
std::string vethName(const SlotAddresses& addresses);

// A server's claim on the host, kept as the comment of its nftables table so the state describes
// itself: a later server reads who owns which block and whether the owner still runs.
struct EgressClaim {
  std::string table;  // "gust_<owner>", in the inet family
  Ipv4Net block;
  pid_t pid = 0;
  uint64_t start_time = 0;  // the owner's start time (/proc/PID/stat field 22): pids are reused
  // net.ipv4.ip_forward before the first Gust server that is still accounted for set it to 1;
  // the last server to stop puts it back.
  int ip_forward_was = 1;
};

// "gust_" + `owner` with every character nft does not take in a name replaced by '_'.
std::string egressTableName(std::string_view owner);
std::string claimComment(const EgressClaim& claim);
// The claims of every "table inet gust_*" in the output of `nft list ruleset`. A Gust table
// without a readable comment is returned with pid 0 (so it counts as stale).
std::vector<EgressClaim> parseClaims(std::string_view ruleset);

// The first `block_prefix` block of `range` that overlaps nothing in `taken`.
std::optional<Ipv4Net> chooseBlock(const Ipv4Net& range, int block_prefix,
                                   const std::vector<Ipv4Net>& taken);

// The nft script (one atomic transaction) that deletes `stale` tables and (re)creates the
// server's own table for `claim`. With `route_only_sandboxes` (the host did not forward packets
// before Gust turned net.ipv4.ip_forward on) the host forwards nothing but sandbox traffic.
std::string egressRuleset(const EgressClaim& claim, const std::vector<std::string>& stale,
                          bool route_only_sandboxes);
// The nft script that deletes `tables` (idempotent: missing tables are fine).
std::string deleteTablesScript(const std::vector<std::string>& tables);

// /etc/resolv.conf for egress sandboxes.
struct SandboxResolvConf {
  std::string text;
  std::vector<std::string> nameservers;  // the ones kept
  std::vector<std::string> dropped;      // the host's that a sandbox cannot reach, and why
};
// From the host's resolv.conf text: IPv4 nameservers only (sandboxes have no IPv6), none on
// loopback or on an address in `host_addresses` (a sandbox cannot reach the host itself); the
// search/domain and options lines are kept.
SandboxResolvConf sandboxResolvConf(std::string_view host_text,
                                    const std::vector<uint32_t>& host_addresses);
// From nameservers given explicitly (--egress-dns).
SandboxResolvConf resolvConfFor(const std::vector<std::string>& nameservers);

}  // namespace gust::sandbox
