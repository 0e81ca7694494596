// The pure parts of network egress: addresses, blocks, claims, the nft script, resolv.conf.
#include "sandbox/linux/egress_rules.h"

#include <gtest/gtest.h>

namespace gust::sandbox {
namespace {

Ipv4Net net(const char* text) {
  auto n = parseIpv4Net(text);
  EXPECT_TRUE(n.ok()) << text;
  return n.ok() ? *n : Ipv4Net{};
}

TEST(EgressRulesTest, ParsesAndPrintsAddresses) {
  EXPECT_EQ(*parseIpv4("10.200.0.1"), 0x0ac80001u);
  EXPECT_EQ(ipv4String(0x0ac80001u), "10.200.0.1");
  for (const char* bad : {"10.200.0", "10.200.0.256", "10.200.0.01", "a.b.c.d", "", "1..2.3"})
    EXPECT_FALSE(parseIpv4(bad).ok()) << bad;
  EXPECT_EQ(net("10.200.0.0/16"), (Ipv4Net{0x0ac80000u, 16}));
  EXPECT_EQ(net("10.200.0.0/16").str(), "10.200.0.0/16");
  auto host_bits = parseIpv4Net("10.200.0.1/16");
  ASSERT_FALSE(host_bits.ok());
  EXPECT_NE(host_bits.error().message.find("did you mean 10.200.0.0/16"), std::string::npos);
  EXPECT_FALSE(parseIpv4Net("10.200.0.0").ok());
  EXPECT_FALSE(parseIpv4Net("10.200.0.0/33").ok());
  EXPECT_EQ(networkOf(0xc0000205u, 0xffffff00u), net("192.0.2.0/24"));
}

TEST(EgressRulesTest, NetworksOverlap) {
  EXPECT_TRUE(net("10.200.0.0/16").overlaps(net("10.200.16.0/20")));
  EXPECT_TRUE(net("10.200.16.0/20").overlaps(net("10.200.0.0/16")));
  EXPECT_FALSE(net("10.200.0.0/20").overlaps(net("10.200.16.0/20")));
  EXPECT_TRUE(net("0.0.0.0/0").overlaps(net("255.255.255.255/32")));
  EXPECT_TRUE(net("10.200.0.0/20").contains(0x0ac80fffu));
  EXPECT_FALSE(net("10.200.0.0/20").contains(0x0ac81000u));
}

TEST(EgressRulesTest, SlotsArePointToPointPairs) {
  Ipv4Net block = net("10.200.16.0/20");
  EXPECT_EQ(slotCount(block), 2048);
  auto first = slotAddresses(block, 0);
  EXPECT_EQ(ipv4String(first.host), "10.200.16.0");
  EXPECT_EQ(ipv4String(first.sandbox), "10.200.16.1");
  auto last = slotAddresses(block, 2047);
  EXPECT_EQ(ipv4String(last.host), "10.200.31.254");
  EXPECT_EQ(ipv4String(last.sandbox), "10.200.31.255");
  EXPECT_EQ(vethName(first), "gst0ac81000");
  EXPECT_LT(vethName(last).size(), 16u);  // IFNAMSIZ
  EXPECT_TRUE(vethName(last).starts_with(kVethPrefix));
}

TEST(EgressRulesTest, ChoosesTheFirstFreeBlock) {
  Ipv4Net range = net("10.200.0.0/16");
  EXPECT_EQ(chooseBlock(range, 20, {}), net("10.200.0.0/20"));
  // Another server's block and a host route inside the range are skipped.
  EXPECT_EQ(chooseBlock(range, 20, {net("10.200.0.0/20"), net("10.200.17.0/24")}),
            net("10.200.32.0/20"));
  // A host route covering the whole range leaves nothing.
  EXPECT_EQ(chooseBlock(range, 20, {net("10.0.0.0/8")}), std::nullopt);
  // Unrelated routes (the default route is never passed) do not matter.
  EXPECT_EQ(chooseBlock(range, 20, {net("192.0.2.0/24")}), net("10.200.0.0/20"));
  EXPECT_EQ(chooseBlock(range, 8, {}), std::nullopt);  // a block larger than the range
  std::vector<Ipv4Net> all;
  for (int i = 0; i < 16; ++i) all.push_back(Ipv4Net{0x0ac80000u + (uint32_t(i) << 12), 20});
  EXPECT_EQ(chooseBlock(range, 20, all), std::nullopt);
}

TEST(EgressRulesTest, ClaimsRoundTripThroughTheRuleset) {
  EgressClaim claim{egressTableName("a1b2c3d4e5f6"), net("10.200.16.0/20"), 4242, 123456, 0};
  EXPECT_EQ(claim.table, "gust_a1b2c3d4e5f6");
  EXPECT_EQ(egressTableName("bench-1.2"), "gust_bench_1_2");
  // What `nft list ruleset` prints for our table, among others.
  std::string listed =
      "table ip filter {\n"
      "\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n"
      "}\n"
      "table inet gust_a1b2c3d4e5f6 {\n"
      "\tcomment \"" +
      claimComment(claim) +
      "\"\n"
      "\tchain input {\n\t}\n"
      "}\n"
      "table inet gust_old {\n"
      "\tchain input {\n\t}\n"
      "}\n"
      "table inet other {\n"
      "\tcomment \"gust egress; block=10.1.0.0/16; pid=1; start=1; ip_forward_was=0\"\n"
      "}\n";
  auto claims = parseClaims(listed);
  ASSERT_EQ(claims.size(), 2u);
  EXPECT_EQ(claims[0].table, claim.table);
  EXPECT_EQ(claims[0].block, claim.block);
  EXPECT_EQ(claims[0].pid, 4242);
  EXPECT_EQ(claims[0].start_time, 123456u);
  EXPECT_EQ(claims[0].ip_forward_was, 0);
  EXPECT_EQ(claims[1].table, "gust_old");  // no comment: stale, whoever made it
  EXPECT_EQ(claims[1].pid, 0);
}

TEST(EgressRulesTest, RulesetKeepsSandboxesApartFromTheHostAndEachOther) {
  EgressClaim claim{"gust_t", net("10.200.16.0/20"), 1, 2, 0};
  std::string script = egressRuleset(claim, {"gust_stale"}, true);
  auto has = [&](const std::string& s) {
    EXPECT_NE(script.find(s), std::string::npos) << s << "\nin:\n" << script;
  };
  // Stale tables go in the same transaction; the own table is replaced, not duplicated.
  has("table inet gust_stale {}\ndelete table inet gust_stale\n");
  has("table inet gust_t {}\ndelete table inet gust_t\ntable inet gust_t {\n");
  has("comment \"gust egress; block=10.200.16.0/20; pid=1; start=2; ip_forward_was=0\"");
  // Nothing a sandbox sends is delivered to the host.
  has("type filter hook input priority filter - 10; policy accept;\n"
      "    iifname \"gst*\" reject");
  // Sandbox to sandbox, then nothing into a sandbox but replies.
  has("iifname \"gst*\" oifname \"gst*\" reject");
  has("oifname \"gst*\" ct state established,related accept\n    oifname \"gst*\" drop\n");
  has("ip daddr { 169.254.0.0/16, 224.0.0.0/4, 255.255.255.255 } reject");
  has("ip saddr 10.200.16.0/20 oifname != \"gst*\" masquerade");
  // The host did not route before: it routes only sandbox traffic now.
  has("    iifname \"gst*\" accept\n    drop\n  }");
  std::string routing_host = egressRuleset(claim, {}, false);
  EXPECT_NE(routing_host.find("    iifname \"gst*\" accept\n  }"), std::string::npos);
  EXPECT_EQ(routing_host.find("gust_stale"), std::string::npos);
  EXPECT_EQ(deleteTablesScript({"gust_a"}), "table inet gust_a {}\ndelete table inet gust_a\n");
}

TEST(EgressRulesTest, ResolvConfKeepsOnlyResolversASandboxCanReach) {
  std::string host =
      "# comment\n"
      "search example.internal corp.example\n"
      "nameserver 127.0.0.53\n"
      "nameserver 192.0.2.2   # the host itself\n"
      "nameserver fd00::1\n"
      "nameserver 198.51.100.7\n"
      "options edns0 trust-ad\n"
      "nameserver 198.51.100.8\n"
      "nameserver 198.51.100.9\n"
      "nameserver 198.51.100.10\n";
  auto conf = sandboxResolvConf(host, {0xc0000202u /* 192.0.2.2 */});
  EXPECT_EQ(conf.nameservers,
            (std::vector<std::string>{"198.51.100.7", "198.51.100.8", "198.51.100.9"}));
  EXPECT_EQ(conf.dropped.size(), 3u);
  EXPECT_EQ(conf.text,
            "# Generated by Gust from the host's resolvers\n"
            "search example.internal corp.example\n"
            "nameserver 198.51.100.7\nnameserver 198.51.100.8\nnameserver 198.51.100.9\n"
            "options edns0 trust-ad\n");
  // systemd-resolved's stub alone: nothing usable (the caller then looks further).
  EXPECT_TRUE(sandboxResolvConf("nameserver 127.0.0.53\n", {}).nameservers.empty());
  EXPECT_EQ(resolvConfFor({"10.213.0.2"}).text,
            "# Generated by Gust (--egress-dns)\nnameserver 10.213.0.2\n");
}

}  // namespace
}  // namespace gust::sandbox
