#include "sandbox/linux/egress_rules.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace gust::sandbox {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <class T>
std::optional<T> number(std::string_view s) {
  T value{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

// The words of one resolv.conf line (blanks separate; '#' or ';' start a comment).
std::vector<std::string_view> words(std::string_view line) {
  if (auto hash = line.find_first_of("#;"); hash != std::string_view::npos)
    line = line.substr(0, hash);
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::string Ipv4Net::str() const { return fmt::format("{}/{}", ipv4String(address), prefix); }

Result<uint32_t> parseIpv4(std::string_view text) {
  auto parts = split(text, '.');
  auto bad = [&] { return Error::invalid(fmt::format("'{}' is not an IPv4 address", text)); };
  if (parts.size() != 4) return bad();
  uint32_t address = 0;
  for (auto part : parts) {
    if (part.size() > 1 && part[0] == '0') return bad();
    auto v = number<unsigned>(part);
    if (!v || *v > 255) return bad();
    address = (address << 8) | *v;
  }
  return address;
}

std::string ipv4String(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

Result<Ipv4Net> parseIpv4Net(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return Error::invalid(fmt::format("'{}' is not an IPv4 network (a.b.c.d/n)", text));
  GUST_ASSIGN_OR_RETURN(uint32_t address, parseIpv4(text.substr(0, slash)));
  auto prefix = number<int>(text.substr(slash + 1));
  if (!prefix || *prefix < 0 || *prefix > 32)
    return Error::invalid(fmt::format("'{}': the prefix length must be 0-32", text));
  Ipv4Net net{address, *prefix};
  uint32_t host_bits = *prefix == 32 ? 0 : static_cast<uint32_t>(net.size() - 1);
  if ((address & host_bits) != 0)
    return Error::invalid(fmt::format("'{}' has host bits set; did you mean {}?", text,
                                      Ipv4Net{address & ~host_bits, *prefix}.str()));
  return net;
}

Ipv4Net networkOf(uint32_t address, uint32_t mask) {
  int prefix = 0;
  while (prefix < 32 && (mask & (0x80000000u >> prefix)) != 0) ++prefix;
  return Ipv4Net{address & mask, prefix};
}

SlotAddresses slotAddresses(const Ipv4Net& block, int slot) {
  GUST_CHECK(slot >= 0 && slot < slotCount(block), "egress slot outside its block");
  uint32_t host = block.address + 2 * static_cast<uint32_t>(slot);
  return SlotAddresses{host, host + 1};
}

std::string vethName(const SlotAddresses& addresses) {
  return fmt::format("{}{:08x}", kVethPrefix, addresses.host);
}

std::string egressTableName(std::string_view owner) {
  std::string name = "gust_";
  for (char c : owner) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += ok ? c : '_';
  }
  return name;
}

std::string claimComment(const EgressClaim& c) {
  return fmt::format("gust egress; block={}; pid={}; start={}; ip_forward_was={}", c.block.str(),
                     c.pid, c.start_time, c.ip_forward_was);
}

std::vector<EgressClaim> parseClaims(std::string_view ruleset) {
  std::vector<EgressClaim> out;
  EgressClaim* current = nullptr;
  for (auto raw : split(ruleset, '\n')) {
    auto line = trim(raw);
    constexpr std::string_view kTable = "table inet gust_";
    if (line.starts_with(kTable)) {
      auto name = line.substr(6 + 5);  // after "table inet "
      if (auto space = name.find(' '); space != std::string_view::npos)
        name = name.substr(0, space);
      EgressClaim claim;
      claim.table = std::string(name);
      claim.block = Ipv4Net{0, 32};
      out.push_back(std::move(claim));
      current = &out.back();
      continue;
    }
    if (line.starts_with("table ")) {
      current = nullptr;
      continue;
    }
    constexpr std::string_view kComment = "comment \"gust egress;";
    if (current == nullptr || !line.starts_with(kComment)) continue;
    auto body = line.substr(9);  // after `comment "`
    if (!body.empty() && body.back() == '"') body.remove_suffix(1);
    EgressClaim parsed = *current;
    bool ok = true;
    for (auto field : split(body, ';')) {
      field = trim(field);
      auto eq = field.find('=');
      if (eq == std::string_view::npos) continue;
      auto key = field.substr(0, eq);
      auto value = field.substr(eq + 1);
      if (key == "block") {
        auto net = parseIpv4Net(value);
        ok = ok && net.ok();
        if (net.ok()) parsed.block = *net;
      } else if (key == "pid") {
        auto v = number<pid_t>(value);
        ok = ok && v.has_value();
        parsed.pid = v.value_or(0);
      } else if (key == "start") {
        auto v = number<uint64_t>(value);
        ok = ok && v.has_value();
        parsed.start_time = v.value_or(0);
      } else if (key == "ip_forward_was") {
        auto v = number<int>(value);
        ok = ok && v.has_value();
        parsed.ip_forward_was = v.value_or(1);
      }
    }
    if (ok) *current = parsed;
    current = nullptr;
  }
  return out;
}

std::optional<Ipv4Net> chooseBlock(const Ipv4Net& range, int block_prefix,
                                   const std::vector<Ipv4Net>& taken) {
  if (block_prefix < range.prefix || block_prefix > 31) return std::nullopt;
  uint64_t step = uint64_t{1} << (32 - block_prefix);
  for (uint64_t a = range.address; a + step - 1 <= range.last(); a += step) {
    Ipv4Net candidate{static_cast<uint32_t>(a), block_prefix};
    bool free = true;
    for (const auto& t : taken) free = free && !candidate.overlaps(t);
    if (free) return candidate;
  }
  return std::nullopt;
}

std::string egressRuleset(const EgressClaim& claim, const std::vector<std::string>& stale,
                          bool route_only_sandboxes) {
  // Each statement is commented for the reviewer; nft reads the script as one transaction, so
  // the host never sees a half-installed ruleset. "table X {}" before "delete table X" makes the
  // delete succeed whether or not X exists.
  std::string script;
  for (const auto& t : stale)
    script += fmt::format("table inet {0} {{}}\ndelete table inet {0}\n", t);
  std::string sandboxes = fmt::format("\"{}*\"", kVethPrefix);
  script += fmt::format(
      "table inet {0} {{}}\n"
      "delete table inet {0}\n"
      "table inet {0} {{\n"
      "  comment \"{1}\"\n"
      // The host itself (every address it has, on any interface, loopback included) is not
      // reachable from a sandbox: nothing a sandbox sends is delivered locally.
      "  chain input {{\n"
      "    type filter hook input priority filter - 10; policy accept;\n"
      "    iifname {2} reject with icmpx admin-prohibited\n"
      "  }}\n"
      // Sandboxes reach addresses beyond the host over IPv4; nothing reaches into a sandbox but
      // the replies to its own connections, and no sandbox reaches another (of any server).
      // Link-local (cloud metadata services), multicast and broadcast stay out of reach.
      "  chain forward {{\n"
      "    type filter hook forward priority filter - 10; policy accept;\n"
      "    iifname {2} oifname {2} reject with icmpx admin-prohibited\n"
      "    oifname {2} ct state established,related accept\n"
      "    oifname {2} drop\n"
      "    iifname {2} meta nfproto != ipv4 drop\n"
      "    iifname {2} ip daddr {{ 169.254.0.0/16, 224.0.0.0/4, 255.255.255.255 }} reject with "
      "icmpx admin-prohibited\n"
      "    iifname {2} accept\n"
      "{3}"
      "  }}\n"
      // The host's own processes do not open connections into sandboxes either.
      "  chain output {{\n"
      "    type filter hook output priority filter - 10; policy accept;\n"
      "    oifname {2} ct state established,related accept\n"
      "    oifname {2} drop\n"
      "  }}\n"
      // Sandbox traffic leaves with the address of the host's outgoing interface.
      "  chain postrouting {{\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n"
      "    ip saddr {4} oifname != {2} masquerade\n"
      "  }}\n"
      "}}\n",
      claim.table, claimComment(claim), sandboxes, route_only_sandboxes ? "    drop\n" : "",
      claim.block.str());
  return script;
}

std::string deleteTablesScript(const std::vector<std::string>& tables) {
  std::string script;
  for (const auto& t : tables)
    script += fmt::format("table inet {0} {{}}\ndelete table inet {0}\n", t);
  return script;
}

SandboxResolvConf sandboxResolvConf(std::string_view host_text,
                                    const std::vector<uint32_t>& host_addresses) {
  SandboxResolvConf out;
  std::string search, options;
  for (auto line : split(host_text, '\n')) {
    auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "nameserver" && w.size() >= 2) {
      std::string server(w[1]);
      auto address = parseIpv4(server);
      if (!address.ok()) {
        out.dropped.push_back(server + " (not IPv4; sandboxes have IPv4 only)");
      } else if ((*address >> 24) == 127) {
        out.dropped.push_back(server + " (loopback: a sandbox has its own)");
      } else if (std::find(host_addresses.begin(), host_addresses.end(), *address) !=
                 host_addresses.end()) {
        out.dropped.push_back(server + " (an address of the host, which sandboxes cannot reach)");
      } else if (out.nameservers.size() < 3) {  // the resolver reads at most three (MAXNS)
        out.nameservers.push_back(server);
      }
    } else if ((w[0] == "search" || w[0] == "domain") && w.size() >= 2) {
      search = "search";
      for (size_t i = 1; i < w.size(); ++i) search += " " + std::string(w[i]);
    } else if (w[0] == "options" && w.size() >= 2) {
      for (size_t i = 1; i < w.size(); ++i) options += " " + std::string(w[i]);
    }
  }
  out.text = "# Generated by Gust from the host's resolvers\n";
  if (!search.empty()) out.text += search + "\n";
  for (const auto& n : out.nameservers) out.text += "nameserver " + n + "\n";
  if (!options.empty()) out.text += "options" + options + "\n";
  return out;
}

SandboxResolvConf resolvConfFor(const std::vector<std::string>& nameservers) {
  SandboxResolvConf out;
  out.nameservers = nameservers;
  out.text = "# Generated by Gust (--egress-dns)\n";
  for (const auto& n : nameservers) out.text += "nameserver " + n + "\n";
  return out;
}

}  // namespace gust::sandbox
