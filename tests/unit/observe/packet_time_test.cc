// Pure logic: time formats, durations, packet headers and the join fingerprint.
#include <gtest/gtest.h>

#include <vector>

#include "observe/packet.h"
#include "observe/time_format.h"

namespace ztdns::observe {
namespace {

using namespace std::chrono;

TEST(TimeFormat, Rfc3339UtcMicroseconds) {
  SystemTime t =
      sys_days{year{2026} / 1 / 2} + hours{3} + minutes{4} + seconds{5} + microseconds{7};
  EXPECT_EQ(formatTime(t), "2026-01-02T03:04:05.000007Z");
  auto back = parseTime("2026-01-02T03:04:05.000007Z");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
}

TEST(TimeFormat, ParsesOffsetsAndRejectsJunk) {
  auto a = parseTime("2026-01-02T05:04:05+02:00");
  auto b = parseTime("2026-01-02T03:04:05Z");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(parseTime("2026-13-02T03:04:05Z"));
  EXPECT_FALSE(parseTime("2026-01-02T03:04:05"));
  EXPECT_FALSE(parseTime("yesterday"));
  EXPECT_FALSE(parseTime("2026-01-02T03:04:05.Z"));
}

TEST(Duration, Units) {
  EXPECT_EQ(parseDuration("90s"), seconds(90));
  EXPECT_EQ(parseDuration("10m"), seconds(600));
  EXPECT_EQ(parseDuration("2h"), seconds(7200));
  EXPECT_EQ(parseDuration("1d"), seconds(86400));
  EXPECT_EQ(parseDuration("1w"), seconds(604800));
  EXPECT_EQ(parseDuration("45"), seconds(45));
  EXPECT_FALSE(parseDuration("0m"));
  EXPECT_FALSE(parseDuration("-5m"));
  EXPECT_FALSE(parseDuration("m"));
  EXPECT_FALSE(parseDuration("10x"));
  EXPECT_FALSE(parseDuration(""));
}

// A minimal IPv4 TCP SYN: 192.0.2.10:40000 -> 203.0.113.81:443, seq 0x01020304.
std::vector<uint8_t> ipv4TcpSyn(uint8_t ttl = 64, uint32_t seq = 0x01020304) {
  std::vector<uint8_t> p(40, 0);
  p[0] = 0x45;
  p[3] = 40;
  p[4] = 0x12, p[5] = 0x34;  // id
  p[8] = ttl;
  p[9] = 6;
  p[10] = 0xab, p[11] = 0xcd;  // header checksum
  uint8_t src[] = {192, 0, 2, 10}, dst[] = {203, 0, 113, 81};
  std::copy(src, src + 4, p.begin() + 12);
  std::copy(dst, dst + 4, p.begin() + 16);
  p[20] = 40000 >> 8, p[21] = 40000 & 0xff;
  p[22] = 443 >> 8, p[23] = 443 & 0xff;
  p[24] = static_cast<uint8_t>(seq >> 24), p[25] = static_cast<uint8_t>(seq >> 16);
  p[26] = static_cast<uint8_t>(seq >> 8), p[27] = static_cast<uint8_t>(seq);
  p[32] = 0x50;
  p[33] = 0x02;  // SYN
  return p;
}

std::vector<uint8_t> ipv6Udp(bool withHopByHop) {
  std::vector<uint8_t> p(40, 0);
  p[0] = 0x60;
  p[6] = withHopByHop ? 0 : 17;
  p[7] = 64;
  p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 0x10;    // 2001:db8::10
  p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 0x53;  // 2001:db8::53
  if (withHopByHop) {
    std::vector<uint8_t> hbh = {17, 0, 1, 4, 0, 0, 0, 0};  // next=UDP, len=0 (8 bytes), PadN
    p.insert(p.end(), hbh.begin(), hbh.end());
  }
  std::vector<uint8_t> udp = {0xc3, 0x50, 0x00, 0x35, 0x00, 0x0c, 0x12, 0x34, 'a', 'b', 'c', 'd'};
  p.insert(p.end(), udp.begin(), udp.end());
  return p;
}

TEST(Packet, ParsesIpv4Tcp) {
  auto s = parsePacket(ipv4TcpSyn());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->protocol, kProtoTcp);
  EXPECT_EQ(s->src.toString(), "192.0.2.10");
  EXPECT_EQ(s->dst.toString(), "203.0.113.81");
  EXPECT_TRUE(s->hasPorts);
  EXPECT_EQ(s->srcPort, 40000);
  EXPECT_EQ(s->dstPort, 443);
  EXPECT_TRUE(s->tcpSyn);
}

TEST(Packet, ParsesIpv6UdpThroughExtensionHeaders) {
  for (bool hbh : {false, true}) {
    auto s = parsePacket(ipv6Udp(hbh));
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->protocol, kProtoUdp);
    EXPECT_EQ(s->src.toString(), "2001:db8::10");
    EXPECT_EQ(s->dst.toString(), "2001:db8::53");
    EXPECT_EQ(s->srcPort, 50000);
    EXPECT_EQ(s->dstPort, 53);
  }
}

TEST(Packet, ParsesIcmpEchoId) {
  std::vector<uint8_t> p(28, 0);
  p[0] = 0x45, p[3] = 28, p[9] = 1;
  p[12] = 192, p[13] = 0, p[14] = 2, p[15] = 10;
  p[16] = 203, p[17] = 0, p[18] = 113, p[19] = 81;
  p[20] = 8;                   // echo request
  p[24] = 0x04, p[25] = 0xd2;  // id 1234
  auto s = parsePacket(p);
  ASSERT_TRUE(s);
  EXPECT_EQ(protocolName(s->protocol), "icmp");
  EXPECT_TRUE(s->hasIcmp);
  EXPECT_FALSE(s->hasPorts);
  EXPECT_EQ(s->icmpType, 8);
  EXPECT_EQ(s->icmpId, 1234);
}

TEST(Packet, RejectsGarbage) {
  EXPECT_FALSE(parsePacket(std::vector<uint8_t>{}));
  EXPECT_FALSE(parsePacket(std::vector<uint8_t>{0x45, 0, 0}));
  EXPECT_FALSE(parsePacket(std::vector<uint8_t>(40, 0x10)));  // version 1
  std::vector<uint8_t> badIhl = ipv4TcpSyn();
  badIhl[0] = 0x4f;  // 60-byte header in a 40-byte packet
  EXPECT_FALSE(parsePacket(badIhl));
  EXPECT_EQ(protocolName(47), "47");
}

TEST(Fingerprint, IgnoresWhatLaterHooksRewriteButNotIdentity) {
  auto a = fingerprintPacket(ipv4TcpSyn(64));
  auto ttl = fingerprintPacket(ipv4TcpSyn(1));  // TTL and header checksum differ
  auto otherSeq = fingerprintPacket(ipv4TcpSyn(64, 0x01020305));
  ASSERT_TRUE(a && ttl && otherSeq);
  EXPECT_EQ(*a, *ttl);
  EXPECT_FALSE(*a == *otherSeq);
  EXPECT_EQ(PacketFingerprintHash{}(*a), PacketFingerprintHash{}(*ttl));
  // A copy cut after the headers still has the same fingerprint.
  auto full = ipv6Udp(false);
  auto cut = full;
  cut.resize(48);
  auto f1 = fingerprintPacket(full), f2 = fingerprintPacket(cut);
  ASSERT_TRUE(f1 && f2);
  EXPECT_EQ(*f1, *f2);
}

}  // namespace
}  // namespace ztdns::observe
