#include "common/ip.h"

#include <gtest/gtest.h>

namespace ztdns {
namespace {

TEST(IpAddress, ParsesBothFamiliesAndRejectsGarbage) {
  EXPECT_TRUE(IpAddress::parse("192.0.2.10")->isV4());
  EXPECT_TRUE(IpAddress::parse("2001:db8::1")->isV6());
  EXPECT_EQ(IpAddress::parse("1.2.3").error().message, "\"1.2.3\" is not an IP address");
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse("[::1]"));
  EXPECT_FALSE(IpAddress::parse("fe80::1%eth0"));
}

TEST(IpAddress, ClassifiesSpecialAddresses) {
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->isUnspecified());
  EXPECT_TRUE(IpAddress::parse("::")->isUnspecified());
  EXPECT_TRUE(IpAddress::parse("127.0.0.53")->isLoopback());
  EXPECT_TRUE(IpAddress::parse("::1")->isLoopback());
  EXPECT_TRUE(IpAddress::parse("224.0.0.251")->isMulticast());
  EXPECT_TRUE(IpAddress::parse("ff02::fb")->isMulticast());
  EXPECT_TRUE(IpAddress::parse("10.1.2.3")->isPrivate());
  EXPECT_TRUE(IpAddress::parse("172.31.0.1")->isPrivate());
  EXPECT_FALSE(IpAddress::parse("172.32.0.1")->isPrivate());
  EXPECT_TRUE(IpAddress::parse("fd00::1")->isPrivate());
  EXPECT_TRUE(IpAddress::parse("fe80::1")->isLinkLocal());
  auto mapped = *IpAddress::parse("::ffff:203.0.113.80");
  EXPECT_TRUE(mapped.isV4Mapped());
  EXPECT_EQ(mapped.unmapped().toString(), "203.0.113.80");
}

TEST(IpPrefix, ParsesNormalisesAndContains) {
  auto p = *IpPrefix::parse("203.0.113.77/24");
  EXPECT_TRUE(p.hasHostBits());
  EXPECT_EQ(p.normalized().toString(), "203.0.113.0/24");
  EXPECT_TRUE(p.contains(*IpAddress::parse("203.0.113.1")));
  EXPECT_FALSE(p.contains(*IpAddress::parse("203.0.114.1")));
  EXPECT_EQ(p.lastAddress().toString(), "203.0.113.255");
  EXPECT_EQ(IpPrefix::parse("10.0.0.0/33").error().message, "\"10.0.0.0/33\" is not a prefix");
  EXPECT_EQ(IpPrefix::parse("2001:db8::1")->length(), 128);
  EXPECT_EQ(IpPrefix::parse("2001:db8::/29")->lastAddress().toString(),
            "2001:dbf:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_TRUE(IpPrefix::parse("2001:db8::/32")->contains(*IpPrefix::parse("2001:db8:1::/48")));
}

TEST(Endpoint, ParsesV4AndBracketedV6) {
  EXPECT_EQ(Endpoint::parse("127.0.0.1:53")->toString(), "127.0.0.1:53");
  EXPECT_EQ(Endpoint::parse("[::1]:53")->toString(), "[::1]:53");
  EXPECT_FALSE(Endpoint::parse("::1:53"));
  EXPECT_FALSE(Endpoint::parse("127.0.0.1:0"));
  EXPECT_FALSE(Endpoint::parse("127.0.0.1:65536"));
  EXPECT_FALSE(Endpoint::parse("127.0.0.1"));
}

}  // namespace
}  // namespace ztdns
