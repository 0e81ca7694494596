// A minimal rtnetlink client: the few requests that wire a sandbox's veth pair (create, address,
// up, default route, delete). It talks to the kernel directly instead of running `ip`, because
// one sandbox needs about eight such requests and each `ip` would be a fork+exec (milliseconds)
// where a request is microseconds.
//
// A socket acts on the network namespace it was created in, whichever namespace the calling
// thread is in later. Not thread-safe: one user at a time.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace gust::sandbox {

class RtNetlink {
 public:
  // A NETLINK_ROUTE socket in the calling thread's network namespace.
  static Result<RtNetlink> open();

  // A veth pair: `name` in this socket's namespace, its peer `peer_name` created directly in
  // the namespace of `peer_netns_fd`.
  Status createVethPair(const std::string& name, const std::string& peer_name, int peer_netns_fd);
  // Deletes a link by name (a veth's peer goes with it). A missing link is not an error.
  Status deleteLink(const std::string& name);
  // No IPv6 link-local address (IN6_ADDR_GEN_MODE_NONE); call before the link is up.
  Status disableIpv6AddressGeneration(int ifindex);
  Status addAddress(int ifindex, uint32_t address, int prefix);  // host byte order
  Status setUp(int ifindex);
  Status addDefaultRoute(uint32_t gateway);  // host byte order

 private:
  explicit RtNetlink(UniqueFd fd) : fd_(std::move(fd)) {}
  // Sends one request (NLM_F_ACK set here) and waits for its acknowledgement: 0 or an errno.
  int transact(void* message, uint32_t length);
  Status request(void* message, uint32_t length, const std::string& what);

  UniqueFd fd_;
  uint32_t seq_ = 0;
};

}  // namespace gust::sandbox
