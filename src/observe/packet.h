// Reading the headers of a logged packet (NFLOG payload or BPF record; both start at the
// network header) and the fingerprint that joins the two.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::observe {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpV6 = 58;

struct PacketSummary {
  uint8_t protocol = 0;  // IP protocol number (after IPv6 extension headers)
  IpAddress src;
  IpAddress dst;
  uint16_t srcPort = 0;  // TCP/UDP only
  uint16_t dstPort = 0;
  bool hasPorts = false;
  bool hasIcmp = false;
  uint8_t icmpType = 0;
  uint8_t icmpCode = 0;
  uint16_t icmpId = 0;  // echo request/reply identifier
  bool tcpSyn = false;
};

// Parses IPv4 or IPv6 (with up to 8 extension headers) plus the transport header when
// present in `bytes`. Fails on anything that is not a well-formed IP header.
Result<PacketSummary> parsePacket(std::span<const uint8_t> bytes);

// "tcp", "udp", "icmp", "icmpv6", or the number.
std::string protocolName(uint8_t protocol);

// The join key between an NFLOG message and a BPF record of the same packet: the fields
// that identify one packet and that later netfilter hooks (TTL, DSCP, MSS clamping,
// checksum offload) do not rewrite: addresses, ports, IPv4 id or IPv6 flow label, TCP
// sequence/ack/flags, UDP ports and length, ICMP type/code/id/sequence. Headers only: a
// payload may sit in page fragments that the BPF side cannot see.
struct PacketFingerprint {
  std::array<uint8_t, 64> bytes{};
  uint8_t size = 0;

  friend bool operator==(const PacketFingerprint& a, const PacketFingerprint& b) {
    return a.size == b.size && std::memcmp(a.bytes.data(), b.bytes.data(), a.size) == 0;
  }
};

struct PacketFingerprintHash {
  size_t operator()(const PacketFingerprint& f) const noexcept;
};

Result<PacketFingerprint> fingerprintPacket(std::span<const uint8_t> bytes);

}  // namespace ztdns::observe
