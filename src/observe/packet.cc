#include "observe/packet.h"

#include <algorithm>

namespace ztdns::observe {

namespace {

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

bool isIpv6Extension(uint8_t next) {
  // hop-by-hop, routing, fragment, destination options, authentication, mobility
  return next == 0 || next == 43 || next == 44 || next == 60 || next == 51 || next == 135;
}

// Where the transport header starts, and which protocol it is.
struct Layout {
  uint8_t protocol = 0;
  size_t l4 = 0;
  bool firstFragment = true;
};

Result<Layout> layoutOf(std::span<const uint8_t> b) {
  if (b.empty()) return Error{"empty packet"};
  Layout l;
  int version = b[0] >> 4;
  if (version == 4) {
    if (b.size() < 20) return Error{"truncated IPv4 header"};
    size_t ihl = static_cast<size_t>(b[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > b.size()) return Error{"bad IPv4 header length"};
    l.protocol = b[9];
    l.l4 = ihl;
    l.firstFragment = (be16(&b[6]) & 0x1fff) == 0;
    return l;
  }
  if (version == 6) {
    if (b.size() < 40) return Error{"truncated IPv6 header"};
    uint8_t next = b[6];
    size_t off = 40;
    for (int i = 0; i < 8 && isIpv6Extension(next); ++i) {
      if (off + 8 > b.size()) return Error{"truncated IPv6 extension header"};
      uint8_t following = b[off];
      size_t len;
      if (next == 44) {  // fragment header: fixed 8 bytes
        l.firstFragment = (be16(&b[off + 2]) & 0xfff8) == 0;
        len = 8;
      } else if (next == 51) {  // AH: length in 4-byte units, minus 2
        len = (static_cast<size_t>(b[off + 1]) + 2) * 4;
      } else {
        len = (static_cast<size_t>(b[off + 1]) + 1) * 8;
      }
      next = following;
      off += len;
    }
    if (isIpv6Extension(next)) return Error{"too many IPv6 extension headers"};
    l.protocol = next;
    l.l4 = off;
    return l;
  }
  return Error{"not an IP packet (version " + std::to_string(version) + ")"};
}

}  // namespace

Result<PacketSummary> parsePacket(std::span<const uint8_t> b) {
  auto layout = layoutOf(b);
  if (!layout) return layout.error();
  PacketSummary s;
  s.protocol = layout->protocol;
  if ((b[0] >> 4) == 4) {
    s.src = IpAddress::v4(&b[12]);
    s.dst = IpAddress::v4(&b[16]);
  } else {
    s.src = IpAddress::v6(&b[8]);
    s.dst = IpAddress::v6(&b[24]);
  }
  if (!layout->firstFragment || layout->l4 > b.size()) return s;
  auto l4 = b.subspan(layout->l4);
  switch (s.protocol) {
    case kProtoTcp:
    case kProtoUdp:
      if (l4.size() >= 4) {
        s.srcPort = be16(&l4[0]);
        s.dstPort = be16(&l4[2]);
        s.hasPorts = true;
      }
      if (s.protocol == kProtoTcp && l4.size() >= 14) s.tcpSyn = (l4[13] & 0x12) == 0x02;
      break;
    case kProtoIcmp:
    case kProtoIcmpV6:
      if (l4.size() >= 2) {
        s.hasIcmp = true;
        s.icmpType = l4[0];
        s.icmpCode = l4[1];
        bool echo = s.protocol == kProtoIcmp ? (s.icmpType == 8 || s.icmpType == 0)
                                             : (s.icmpType == 128 || s.icmpType == 129);
        if (echo && l4.size() >= 6) s.icmpId = be16(&l4[4]);
      }
      break;
    default:
      break;
  }
  return s;
}

std::string protocolName(uint8_t protocol) {
  switch (protocol) {
    case kProtoTcp:
      return "tcp";
    case kProtoUdp:
      return "udp";
    case kProtoIcmp:
      return "icmp";
    case kProtoIcmpV6:
      return "icmpv6";
    default:
      return std::to_string(protocol);
  }
}

size_t PacketFingerprintHash::operator()(const PacketFingerprint& f) const noexcept {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < f.size; ++i) {
    h ^= f.bytes[i];
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

Result<PacketFingerprint> fingerprintPacket(std::span<const uint8_t> b) {
  auto layout = layoutOf(b);
  if (!layout) return layout.error();
  PacketFingerprint f;
  auto put = [&f](const uint8_t* p, size_t n) {
    n = std::min(n, f.bytes.size() - f.size);
    std::memcpy(f.bytes.data() + f.size, p, n);
    f.size = static_cast<uint8_t>(f.size + n);
  };
  bool v4 = (b[0] >> 4) == 4;
  uint8_t head[2] = {b[0], layout->protocol};
  head[0] &= 0xf0;
  put(head, 2);
  if (v4) {
    put(&b[12], 8);  // source and destination
    put(&b[4], 2);   // identification
  } else {
    uint8_t flow[3] = {static_cast<uint8_t>(b[1] & 0x0f), b[2], b[3]};
    put(flow, 3);
    put(&b[8], 32);
  }
  if (!layout->firstFragment || layout->l4 >= b.size()) return f;
  auto l4 = b.subspan(layout->l4);
  switch (layout->protocol) {
    case kProtoTcp:
      if (l4.size() >= 14) put(&l4[0], 14);  // ports, seq, ack, offset, flags
      break;
    case kProtoUdp:
      if (l4.size() >= 6) put(&l4[0], 6);  // ports, length (payload may sit in page frags)
      break;
    case kProtoIcmp:
    case kProtoIcmpV6:
      if (l4.size() >= 2) put(&l4[0], 2);  // type, code
      if (l4.size() >= 8) put(&l4[4], 4);  // echo id and sequence
      break;
    default:
      put(l4.data(), std::min<size_t>(4, l4.size()));
      break;
  }
  return f;
}

}  // namespace ztdns::observe
