// EgressNetwork's host state: its nftables table exists while it runs and is gone after, a table
// left by a server that died is removed at the next start, and two servers get separate blocks.
// Needs root and nftables.
#include "sandbox/linux/egress_network.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace gust::sandbox {
namespace {

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

bool tableExists(const std::string& table) {
  return run("nft list tables 2>/dev/null").find("table inet " + table + "\n") != std::string::npos;
}

class EgressNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network egress needs root";
  }
  // Per test process: ctest runs tests in parallel.
  EgressOptions options(const std::string& name) {
    EgressOptions o;
    o.owner = "egresstest" + name + std::to_string(::getpid());
    o.dns = {"198.51.100.53"};
    o.pool_size = 1;
    return o;
  }
};

TEST_F(EgressNetworkTest, TableLivesAsLongAsTheNetwork) {
  auto o = options("life");
  std::string table = egressTableName(o.owner);
  {
    auto egress = EgressNetwork::start(o);
    ASSERT_TRUE(egress.ok()) << egress.error().message;
    EXPECT_EQ((*egress)->table(), table);
    EXPECT_TRUE(tableExists(table));
    std::string listed = run("nft list table inet " + table);
    EXPECT_NE(listed.find("block=" + (*egress)->block().str()), std::string::npos) << listed;
    EXPECT_NE(listed.find("pid=" + std::to_string(::getpid())), std::string::npos) << listed;
    EXPECT_EQ(run("cat /proc/sys/net/ipv4/ip_forward"), "1\n");
    EXPECT_NE((*egress)->describe().find(table), std::string::npos);
  }
  EXPECT_FALSE(tableExists(table));
}

TEST_F(EgressNetworkTest, StaleTablesOfDeadServersAreRemovedAtStart) {
  // A table as a killed server leaves it: its owner is not running.
  std::string stale = egressTableName("egressteststale" + std::to_string(::getpid()));
  std::string script = "table inet " + stale +
                       " { comment \"gust egress; block=10.200.240.0/20; pid=2147483646; start=1; "
                       "ip_forward_was=1\" ; }";
  ASSERT_EQ(std::system(("nft '" + script + "'").c_str()), 0) << script;
  ASSERT_TRUE(tableExists(stale));
  {
    auto egress = EgressNetwork::start(options("fresh"));
    ASSERT_TRUE(egress.ok()) << egress.error().message;
    EXPECT_FALSE(tableExists(stale));
  }
}

TEST_F(EgressNetworkTest, ServersGetSeparateBlocksAndOneTableEach) {
  auto a = EgressNetwork::start(options("a"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = EgressNetwork::start(options("b"));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_FALSE((*a)->block().overlaps((*b)->block()));
  // A second server on the same data directory (the same table) while the first runs: refused.
  auto again = EgressNetwork::start(options("a"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("another gust server"), std::string::npos)
      << again.error().message;
}

// Not a timed assertion: what preparing one namespace costs (netns, veth pair, addresses, route),
// i.e. what an egress cold start adds when the pool is empty, and what giving it back costs the
// caller (the veth is deleted by the worker).
TEST_F(EgressNetworkTest, PrepareCost) {
  auto o = options("cost");
  o.pool_size = 0;  // every take() prepares in the calling thread
  auto egress = EgressNetwork::start(o);
  ASSERT_TRUE(egress.ok()) << egress.error().message;
  std::vector<double> take_ms, release_ms;
  for (int i = 0; i < 30; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto lease = (*egress)->take();
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(lease.ok()) << lease.error().message;
    { auto gone = std::move(*lease); }
    auto t2 = std::chrono::steady_clock::now();
    take_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    release_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  std::sort(take_ms.begin(), take_ms.end());
  std::sort(release_ms.begin(), release_ms.end());
  std::printf(
      "egress namespace, %zu runs: prepare median %.2f ms (max %.2f), release median "
      "%.2f ms\n",
      take_ms.size(), take_ms[take_ms.size() / 2], take_ms.back(),
      release_ms[release_ms.size() / 2]);
}

TEST_F(EgressNetworkTest, LeftoverVethOfAKilledServerIsReplaced) {
  // A range of its own; slot 0's veth exists already, as right after a server with this block
  // was killed (the kernel tears its namespaces down asynchronously).
  auto o = options("leftover");
  o.range = Ipv4Net{0x0aca0000u + (static_cast<uint32_t>(::getpid() % 16) << 12), 20};
  o.pool_size = 0;
  std::string veth = vethName(slotAddresses(o.range, 0));
  ASSERT_EQ(std::system(("ip link add " + veth + " type veth peer name " + veth + "p").c_str()), 0);
  auto egress = EgressNetwork::start(o);
  ASSERT_TRUE(egress.ok()) << egress.error().message;
  ASSERT_EQ((*egress)->block(), o.range);
  auto lease = (*egress)->take();
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_EQ(lease->hostVeth(), veth);
  EXPECT_EQ(run("ip -o link show " + veth + "p 2>/dev/null"), "");  // the old pair is gone
}

TEST_F(EgressNetworkTest, BadRangesAreRefusedWithTheFix) {
  auto o = options("bad");
  o.range = Ipv4Net{0x0ac80000u, 24};
  auto egress = EgressNetwork::start(o);
  ASSERT_FALSE(egress.ok());
  EXPECT_NE(egress.error().message.find("/20 or larger"), std::string::npos)
      << egress.error().message;
}

}  // namespace
}  // namespace gust::sandbox
