#include "sandbox/linux/rtnetlink.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace gust::sandbox {
namespace {

// One request being built: the netlink header, a fixed part, then (nested) attributes.
class Message {
 public:
  Message(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_HDRLEN);
    header()->nlmsg_type = type;
    header()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  }
  template <class T>
  void fixed(const T& value) {
    append(&value, sizeof value);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
    append(&a, sizeof a);
    append(data, len);
  }
  void attr(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void attr32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void attr8(uint16_t type, uint8_t v) { attr(type, &v, sizeof v); }
  // A nested attribute: begin() returns where it starts, end() sets its length.
  size_t begin(uint16_t type) {
    size_t at = buf_.size();
    rtattr a{0, type};
    append(&a, sizeof a);
    return at;
  }
  void end(size_t at) {
    auto* a = reinterpret_cast<rtattr*>(buf_.data() + at);
    a->rta_len = static_cast<unsigned short>(buf_.size() - at);
  }
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  uint32_t size() const { return static_cast<uint32_t>(buf_.size()); }

 private:
  void append(const void* data, size_t len) {
    size_t at = buf_.size();
    buf_.resize(at + NLMSG_ALIGN(len), 0);
    std::memcpy(buf_.data() + at, data, len);
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  std::vector<uint8_t> buf_;
};

ifinfomsg linkOf(int ifindex) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  return ifi;
}

}  // namespace

Result<RtNetlink> RtNetlink::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return Error::fromErrno("cannot open a netlink socket (NETLINK_ROUTE)", errno);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return Error::fromErrno("cannot bind a netlink socket", errno);
  return RtNetlink(std::move(fd));
}

int RtNetlink::transact(void* message, uint32_t length) {
  auto* h = static_cast<nlmsghdr*>(message);
  h->nlmsg_flags |= NLM_F_ACK;
  h->nlmsg_seq = ++seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd_.get(), message, length, 0, reinterpret_cast<sockaddr*>(&kernel),
                    sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(length)) return sent < 0 ? errno : EMSGSIZE;
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    auto len = static_cast<uint32_t>(n);
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
      if (r->nlmsg_seq != seq_ || r->nlmsg_type != NLMSG_ERROR) continue;
      return -static_cast<const nlmsgerr*>(NLMSG_DATA(r))->error;
    }
  }
}

Status RtNetlink::request(void* message, uint32_t length, const std::string& what) {
  if (int err = transact(message, length); err != 0) return Error::fromErrno("cannot " + what, err);
  return okStatus();
}

Status RtNetlink::createVethPair(const std::string& name, const std::string& peer_name,
                                 int peer_netns_fd) {
  Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.fixed(linkOf(0));
  m.attr(IFLA_IFNAME, name);
  size_t info = m.begin(IFLA_LINKINFO);
  m.attr(IFLA_INFO_KIND, std::string("veth"));
  size_t data = m.begin(IFLA_INFO_DATA);
  size_t peer = m.begin(VETH_INFO_PEER);
  m.fixed(linkOf(0));
  m.attr(IFLA_IFNAME, peer_name);
  m.attr32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  m.end(peer);
  m.end(data);
  m.end(info);
  return request(m.header(), m.size(),
                 fmt::format("create the veth pair {} / {}", name, peer_name));
}

Status RtNetlink::deleteLink(const std::string& name) {
  Message m(RTM_DELLINK, 0);
  m.fixed(linkOf(0));
  m.attr(IFLA_IFNAME, name);
  int err = transact(m.header(), m.size());
  if (err == 0 || err == ENODEV) return okStatus();  // ENODEV: gone with its network namespace
  return Error::fromErrno(fmt::format("cannot delete the link {}", name), err);
}

Status RtNetlink::disableIpv6AddressGeneration(int ifindex) {
  Message m(RTM_NEWLINK, 0);
  m.fixed(linkOf(ifindex));
  size_t spec = m.begin(IFLA_AF_SPEC);
  size_t inet6 = m.begin(AF_INET6);
  m.attr8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  m.end(inet6);
  m.end(spec);
  return request(m.header(), m.size(), "turn off IPv6 address generation on a sandbox veth");
}

Status RtNetlink::addAddress(int ifindex, uint32_t address, int prefix) {
  Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<unsigned>(ifindex);
  m.fixed(ifa);
  uint32_t be = htonl(address);
  m.attr(IFA_LOCAL, &be, sizeof be);
  m.attr(IFA_ADDRESS, &be, sizeof be);
  return request(m.header(), m.size(), "add an address to a sandbox veth");
}

Status RtNetlink::setUp(int ifindex) {
  Message m(RTM_NEWLINK, 0);
  ifinfomsg ifi = linkOf(ifindex);
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  m.fixed(ifi);
  return request(m.header(), m.size(), "bring a sandbox veth up");
}

Status RtNetlink::addDefaultRoute(uint32_t gateway) {
  Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_STATIC;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  m.fixed(rt);
  uint32_t be = htonl(gateway);
  m.attr(RTA_GATEWAY, &be, sizeof be);
  return request(m.header(), m.size(), "add the sandbox's default route");
}

}  // namespace gust::sandbox
