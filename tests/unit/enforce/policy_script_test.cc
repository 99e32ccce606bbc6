// Table-driven tests of the pure policy builder (no root): one row per case, with the
// input policy, fragments the script must contain and fragments it must not.
#include "enforce/policy_script.h"

#include <gtest/gtest.h>

#include <functional>

namespace ztdns::enforce {
namespace {

IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}
Endpoint endpoint(const char* text) {
  return *Endpoint::parse(text);
}

struct Case {
  const char* description;
  std::function<void(Policy&)> edit;
  std::vector<std::string> contains;
  std::vector<std::string> absent;
};

const Case kCases[] = {
    {"audit mode accepts and logs would-block",
     [](Policy& p) { p.audit = true; },
     {"counter name \"would_block\" goto log_audit",
      "log prefix \"ztdns audit\" group 2932 accept"},
     {"reject with"}},
    {"enforce mode logs then rejects: TCP with a reset, the rest admin-prohibited",
     [](Policy& p) { p.audit = false; },
     {"counter name \"blocked\" jump log_block", "meta l4proto tcp reject with tcp reset",
      "reject with icmpx admin-prohibited", "log prefix \"ztdns block\" group 2932"},
     {"goto log_audit"}},
    {"loopback allowed: a plain accept on lo",
     [](Policy& p) { p.loopbackBlocked = false; },
     {"oif \"lo\" accept comment \"2 loopback\""},
     {"loopback blocked"}},
    {"loopback blocked: only the stub listeners and ICMP errors pass on lo",
     [](Policy& p) {
       p.loopbackBlocked = true;
       p.stubListeners = {endpoint("127.0.0.1:53"), endpoint("[::1]:53")};
     },
     {"add element inet ztdns stubs4 { 127.0.0.1 . 53 }",
      "add element inet ztdns stubs6 { ::1 . 53 }",
      "oif \"lo\" meta l4proto { tcp, udp } ip daddr . th dport @stubs4 accept",
      "oif \"lo\" icmp type { destination-unreachable"},
     {"oif \"lo\" accept", "goto permit_loopback"}},
    {"the stub's loopback traffic is untracked, and its answers pass without conntrack",
     [](Policy& p) {
       p.loopbackBlocked = true;
       p.stubListeners = {endpoint("127.0.0.1:53"), endpoint("[::1]:53")};
     },
     {"add chain inet ztdns stub_notrack { type filter hook output priority raw; policy accept; }",
      "flush chain inet ztdns stub_notrack",
      "add rule inet ztdns stub_notrack oif \"lo\" meta l4proto { tcp, udp } ip daddr . th dport "
      "@stubs4 notrack",
      "add rule inet ztdns stub_notrack oif \"lo\" meta l4proto { tcp, udp } ip6 saddr . th sport "
      "@stubs6 notrack",
      "oif \"lo\" meta l4proto { tcp, udp } ip saddr . th sport @stubs4 accept"},
     {"stub_notrack oif \"lo\" notrack"}},
    {"a stub listening on the unspecified address is matched by port on lo",
     [](Policy& p) {
       p.loopbackBlocked = true;
       p.stubListeners = {endpoint("0.0.0.0:53"), endpoint("[::]:53"), endpoint("127.0.0.1:5353")};
     },
     {"oif \"lo\" meta l4proto { tcp, udp } th dport { 53 } accept",
      "oif \"lo\" meta l4proto { tcp, udp } th sport { 53 } accept",
      "stub_notrack oif \"lo\" meta l4proto { tcp, udp } th dport { 53 } notrack",
      "add element inet ztdns stubs4 { 127.0.0.1 . 5353 }"},
     {"0.0.0.0 . 53", ":: . 53"}},
    {"permitted-connection log on: every permit goes through its log chain",
     [](Policy& p) { p.logPermitted = true; },
     {"goto permit_loopback", "goto permit_dhcp", "goto permit_ndp", "goto permit_server",
      "goto permit_exception", "goto permit_resolved",
      "log prefix \"ztdns permit resolved\" group 2932 accept"},
     {"@allow4 accept"}},
    {"permitted-connection log off: permits accept directly",
     [](Policy& p) { p.logPermitted = false; },
     {"ip daddr @allow4 accept", "ip6 daddr @allow6 accept", "ip daddr @exc4 accept"},
     {"goto permit_"}},
    {"servers: ip . tcp port, v4 and v6, duplicates once",
     [](Policy& p) {
       p.servers = {endpoint("198.51.100.53:853"), endpoint("[2001:db8:53::53]:443"),
                    endpoint("198.51.100.53:853"), endpoint("198.51.100.54:443")};
     },
     {"add element inet ztdns servers4 { 198.51.100.53 . 853, 198.51.100.54 . 443 }",
      "add element inet ztdns servers6 { 2001:db8:53::53 . 443 }",
      "ip daddr . tcp dport @servers4 accept"},
     {}},
    {"exceptions: overlaps and duplicates across rules merge, host bits are cleared",
     [](Policy& p) {
       p.exceptions = {{"relay", {prefix("203.0.113.0/25"), prefix("203.0.113.200/32")}},
                       {"wide", {prefix("203.0.113.7/24"), prefix("2001:db8:200::1/128")}},
                       {"dup", {prefix("203.0.113.0/24"), prefix("2001:db8:200::/48")}}};
     },
     {"add element inet ztdns exc4 { 203.0.113.0/24 }",
      "add element inet ztdns exc6 { 2001:db8:200::/48 }"},
     {"203.0.113.200", "203.0.113.0/25", "2001:db8:200::1/128"}},
    {"no exceptions: the sets exist, empty, with no element command",
     [](Policy& p) { p.exceptions.clear(); },
     {"add set inet ztdns exc4 { type ipv4_addr; flags interval; auto-merge; }"},
     {"add element inet ztdns exc4", "add element inet ztdns exc6"}},
    {"allow sets: created with timeouts and a kernel size with headroom, never replaced",
     [](Policy& p) { p.maxAllowedAddresses = 1000; },
     {"add set inet ztdns allow4 { type ipv4_addr; flags timeout; size 2274; }",
      "add set inet ztdns allow6 { type ipv6_addr; flags timeout; size 2274; }"},
     {"flush set", "delete set inet ztdns allow", "flush table", "delete table", "flush ruleset"}},
    {"log guard: one shared limit whose overflow is counted",
     [](Policy& p) { p.logPacketsPerSecond = 5000; },
     {"add limit inet ztdns log_guard { rate over 5000/second burst 500 packets; }",
      "limit name \"log_guard\" counter name \"log_suppressed\" return",
      "add counter inet ztdns log_suppressed"},
     {"delete counter"}},
    {"a custom NFLOG group reaches every log rule",
     [](Policy& p) {
       p.nflogGroup = 7;
       p.audit = false;
     },
     {"log prefix \"ztdns block\" group 7", "log prefix \"ztdns permit dhcp\" group 7"},
     {"group 2932"}},
    {"DHCP, DHCPv6, NDP and MLD reports are always allowed",
     [](Policy&) {},
     {"meta nfproto ipv4 udp sport 68 udp dport 67 accept",
      "meta nfproto ipv6 udp sport 546 udp dport 547 accept",
      "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect, "
      "mld-listener-report, mld-listener-done, mld2-listener-report"},
     {}},
};

TEST(PolicyScriptTest, Cases) {
  for (const auto& c : kCases) {
    Policy p;
    c.edit(p);
    auto script = buildPolicyScript(p);
    ASSERT_TRUE(script.ok()) << c.description << ": " << script.error().message;
    for (const auto& fragment : c.contains) {
      EXPECT_NE(script->find(fragment), std::string::npos)
          << c.description << "\nmissing: " << fragment << "\nscript:\n"
          << *script;
    }
    for (const auto& fragment : c.absent) {
      EXPECT_EQ(script->find(fragment), std::string::npos)
          << c.description << "\nunexpected: " << fragment << "\nscript:\n"
          << *script;
    }
  }
}

TEST(PolicyScriptTest, RulesComeInTheIssuesOrder) {
  Policy p;
  p.audit = false;
  auto script = buildPolicyScript(p);
  ASSERT_TRUE(script.ok());
  size_t last = 0;
  for (const char* step :
       {"\"1 established", "\"2 the stub", "\"2 loopback", "\"3 DHCPv4", "\"3 NDP", "\"4 PDNS",
        "\"5 exceptions", "\"6 resolved", "\"7 enforce", "\"7 TCP", "\"7 other"}) {
    size_t at = script->find(step);
    ASSERT_NE(at, std::string::npos) << step;
    EXPECT_GT(at, last) << step << " is out of order";
    last = at;
  }
}

TEST(PolicyScriptTest, EveryChainIsFlushedBeforeTheObjectsItReferencesAreReplaced) {
  auto script = buildPolicyScript(Policy{});
  ASSERT_TRUE(script.ok());
  size_t firstDelete = script->find("\ndelete ");
  ASSERT_NE(firstDelete, std::string::npos);
  for (const char* chain : {"output", "log_block", "log_audit", "permit_resolved"}) {
    size_t flush = script->find(std::string("flush chain inet ztdns ") + chain + "\n");
    ASSERT_NE(flush, std::string::npos) << chain;
    EXPECT_LT(flush, firstDelete) << chain;
  }
}

TEST(PolicyScriptTest, RejectsPoliciesNoKernelCouldTake) {
  Policy zeroRate;
  zeroRate.logPacketsPerSecond = 0;
  EXPECT_FALSE(buildPolicyScript(zeroRate).ok());
  Policy zeroCapacity;
  zeroCapacity.maxAllowedAddresses = 0;
  EXPECT_FALSE(buildPolicyScript(zeroCapacity).ok());
  Policy zeroPort;
  zeroPort.servers = {Endpoint{*IpAddress::parse("198.51.100.53"), 0}};
  auto r = buildPolicyScript(zeroPort);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("port 0"), std::string::npos);
}

struct MergeCase {
  const char* description;
  std::vector<const char*> in;
  std::vector<const char*> out;
};

TEST(PolicyScriptTest, MergePrefixes) {
  const MergeCase cases[] = {
      {"empty", {}, {}},
      {"duplicates", {"192.0.2.0/24", "192.0.2.0/24"}, {"192.0.2.0/24"}},
      {"covered, in either order",
       {"192.0.2.128/25", "192.0.2.0/24", "192.0.2.9/32"},
       {"192.0.2.0/24"}},
      {"disjoint stay", {"198.51.100.0/24", "192.0.2.0/24"}, {"192.0.2.0/24", "198.51.100.0/24"}},
      {"host bits cleared", {"192.0.2.77/24"}, {"192.0.2.0/24"}},
      {"families kept apart",
       {"2001:db8::/32", "0.0.0.0/0", "2001:db8:1::/48"},
       {"0.0.0.0/0", "2001:db8::/32"}},
  };
  for (const auto& c : cases) {
    std::vector<IpPrefix> in;
    for (const char* t : c.in) in.push_back(prefix(t));
    std::vector<std::string> got;
    for (const auto& pfx : mergePrefixes(in)) got.push_back(pfx.toString());
    std::vector<std::string> want(c.out.begin(), c.out.end());
    EXPECT_EQ(got, want) << c.description;
  }
}

TEST(PolicyScriptTest, KernelSizeHasHeadroomAndSaturates) {
  EXPECT_EQ(kernelAllowSetSize(1000), 2274u);
  EXPECT_GT(kernelAllowSetSize(262144), 262144u);
  EXPECT_EQ(kernelAllowSetSize(0xffffffffu), 0xffffffffu);
}

}  // namespace
}  // namespace ztdns::enforce
