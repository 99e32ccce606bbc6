#include <gtest/gtest.h>

#include "config/config.h"
#include "enforce/policy.h"

namespace ztdns::enforce {
namespace {

config::SecureDnsServer server(const char* name, const char* ip, std::optional<uint16_t> dot,
                               std::optional<uint16_t> doh) {
  config::SecureDnsServer s;
  s.displayName = name;
  s.ipAddress = *IpAddress::parse(ip);
  if (dot) s.dnsOverTls = config::DotSettings{*dot, "pdns.example.test"};
  if (doh) s.dnsOverHttps = config::DohSettings{*doh, "https://pdns.example.test/dns-query"};
  return s;
}

TEST(PolicyFromConfig, CarriesEveryFieldTheKernelNeeds) {
  config::Config c;
  c.auditModeEnabled = false;
  c.loopbackTrafficBlocked = true;
  c.permittedConnectionsLogEnabled = true;
  c.maxAllowedAddresses = 4096;
  c.secureDnsServers = {server("a", "198.51.100.53", 853, 443),
                        server("b", "2001:db8:53::54", 853, std::nullopt),
                        server("dup", "198.51.100.53", 853, std::nullopt)};
  c.exemptionRules = {{"relay", "media relay", {*IpPrefix::parse("203.0.113.200/32")}}};

  Policy p = policyFromConfig(c);
  EXPECT_FALSE(p.audit);
  EXPECT_TRUE(p.loopbackBlocked);
  EXPECT_TRUE(p.logPermitted);
  EXPECT_EQ(p.maxAllowedAddresses, 4096u);
  // DoT and DoH ports of one address are both allowed; a duplicate ip:port appears once.
  ASSERT_EQ(p.servers.size(), 3u);
  EXPECT_EQ(p.servers[0].toString(), "198.51.100.53:443");
  EXPECT_EQ(p.servers[1].toString(), "198.51.100.53:853");
  EXPECT_EQ(p.servers[2].toString(), "[2001:db8:53::54]:853");
  ASSERT_EQ(p.exceptions.size(), 1u);
  EXPECT_EQ(p.exceptions[0].name, "relay");
  EXPECT_EQ(p.stubListeners, c.listenAddresses);
}

TEST(PolicyFromConfig, DefaultsAreAuditWithLoopbackAllowed) {
  Policy p = policyFromConfig(config::Config{});
  EXPECT_TRUE(p.audit);
  EXPECT_FALSE(p.loopbackBlocked);
  EXPECT_FALSE(p.logPermitted);
  EXPECT_TRUE(p.servers.empty());
  EXPECT_EQ(p.stubListeners.size(), 2u);
}

}  // namespace
}  // namespace ztdns::enforce
